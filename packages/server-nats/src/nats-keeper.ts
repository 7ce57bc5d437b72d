// The embedded nats-server's keeper: a small process between the front-end and
// nats-server, so that nats-server and its store go away with the front-end
// even when the front-end is SIGKILLed (the keeper then sees its IPC channel
// close). Started by fib-server-nats without --nats; refuses to run by hand.
import { setUpChildProcess } from '@fib/core/worker';
import { runKeeper } from './lib/keeper.js';

setUpChildProcess('@fib/server-nats dist/nats-keeper.js', true, {
  // Its main thread never blocks: 'disconnect' is enough, and the watchdog's
  // SIGKILL would skip the clean-up that removes the store.
  watchdog: 'lazy',
  onSigterm: () => void keeper.stop(),
});
const [binary, store] = process.argv.slice(2);
if (binary === undefined || store === undefined) {
  process.stderr.write('@fib/server-nats dist/nats-keeper.js: started by fib-server-nats with a binary and a store\n');
  process.exit(2);
}
const keeper = runKeeper(binary, store, (message) => process.send?.(message));

#!/usr/bin/env node
import { OptionError, parseArgs, runCli, strategyProgram, usage } from '@fib/core';
import { NATS_FLAGS_HELP, extractNatsArgs } from './lib/cli-args.js';
import { INSTALL_HINT, findNatsServer } from './lib/nats-binary.js';
import { natsStrategy } from './index.js';

const BIN = 'fib-server-nats';
/** As for any wrong command line: nothing to run with. */
const EXIT_USAGE = 2;

const fail = (message: string, withUsage: boolean, description: string) => {
  const policy = { hasWorkerPool: true };
  process.stderr.write(`${BIN}: ${message}\n${withUsage ? `\n${usage(BIN, description, policy)}\n` : ''}`);
  process.exit(EXIT_USAGE);
};

const base = natsStrategy();
const description = `${base.description}\n\n${NATS_FLAGS_HELP}`;
let extracted: ReturnType<typeof extractNatsArgs>;
try {
  extracted = extractNatsArgs(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof OptionError)) throw error;
  fail(error.message, true, description);
}
const { rest, config, consumedVariables } = extracted!;
for (const name of consumedVariables) delete process.env[name];
const strategy = natsStrategy(config);
if (config.nats === undefined && findNatsServer() === null) {
  // A wrong command line is reported as such first; --help and --version need no NATS.
  let action = 'serve';
  try {
    action = parseArgs(rest, strategy, process.env).action;
  } catch {
    action = 'invalid';
  }
  if (action === 'serve') fail(INSTALL_HINT, false, description);
}
await runCli({ ...strategyProgram(strategy), description }, new URL('../package.json', import.meta.url), rest);

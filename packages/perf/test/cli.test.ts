// fib-perf1 and fib-perf2 as commands: flags, output, exit codes.
import test from 'ava';
import { spawn } from 'node:child_process';
import { binPath, runBin, version } from './helpers/bins.js';
import { answerThen, freePort, naiveFib, serve } from './helpers/servers.js';

/** The escape that starts a terminal control sequence. */
const ESC = String.fromCharCode(27);

test('--help prints the usage with every flag and exits 0', async (t) => {
  for (const name of ['fib-perf1', 'fib-perf2'] as const) {
    const run = await runBin(name, ['--help']);
    t.is(run.code, 0);
    t.regex(run.stdout, new RegExp(`^Usage: ${name} \\[options\\] \\[HOST:PORT\\]`));
    for (const flag of [
      'host',
      'port',
      'n',
      'connections',
      'pipeline',
      'duration',
      'requests',
      'rate',
      'warmup',
      'arrivals',
      'latency',
      'hdr-log',
      'json',
      'quiet',
      'help',
      'version',
    ]) {
      t.true(run.stdout.includes(`--${flag}`), `${name} --help lacks --${flag}`);
    }
    for (const short of [
      '-c, --connections',
      '-p, --pipeline',
      '-d, --duration',
      '-n, --requests',
      '-R, --rate',
      '-j, --json',
      '-h, --help',
      '-v, --version',
    ]) {
      t.true(run.stdout.includes(short), `${name} --help lacks ${short}`);
    }
    // The exit codes are documented.
    t.regex(run.stdout, /Exit status:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*cut short/);
    t.is(run.stderr, '');
  }
});

test('--version and -v print the package version; -h is --help', async (t) => {
  for (const flag of ['--version', '-v']) {
    const run = await runBin('fib-perf2', [flag]);
    t.is(run.code, 0);
    t.is(run.stdout, `${version}\n`);
  }
  const help = await runBin('fib-perf2', ['-h']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: fib-perf2/);
});

test('bad usage exits 2 with a one-line reason and the usage on stderr', async (t) => {
  const cases: [string[], string][] = [
    [['--bogus'], 'unknown option --bogus'],
    [['--portt', '5'], 'unknown option --portt (did you mean --port?)'],
    [['--pipelin', '5'], 'unknown option --pipelin (did you mean --pipeline?)'],
    [['--latncy'], 'unknown option --latncy (did you mean --latency?)'],
    [['-x'], 'unknown option -x'],
    [['--pipeline', '0'], '--pipeline must be an integer from 1 to 65536 (got 0)'],
    [['-p', '0'], '--pipeline must be an integer from 1 to 65536 (got 0)'],
    [['--n', '79'], '--n must be an integer from 0 to 78 (got 79)'],
    [
      ['--duration', 'abc'],
      '--duration must be a number of seconds above 0, up to 2000000, or a duration such as 500ms, 10s or 2m (got "abc")',
    ],
    [['-d', '0s'], '--duration must be a number of seconds above 0'],
    [['--requests', '2.5'], '--requests must be an integer from 1 to'],
    [['--port', '70000'], '--port must be an integer from 1 to 65535 (got 70000)'],
    [['--port'], '--port needs a value'],
    [['--rate', '-5'], '--rate must be a number above 0, up to 1000000000 (got -5)'],
    [['-R', '100', '--arrivals', 'bursty'], '--arrivals must be one of uniform, poisson (got "bursty")'],
    [['--arrivals', 'poisson'], '--arrivals needs --rate'],
    [['--host', ''], '--host must be a non-empty string (got "")'],
    [['--json=1'], '--json takes no value'],
    [['-c', '1', '--connections', '2'], '--connections given twice'],
    [['127.0.0.1:1', 'extra'], 'unexpected argument "extra"'],
    [['127.0.0.1:http'], 'the port of "127.0.0.1:http" must be an integer from 1 to 65535'],
    [['--port', '5', ':6'], 'the target ":6" and --port both give the port'],
  ];
  await Promise.all(
    cases.map(async ([args, message]) => {
      const run = await runBin('fib-perf2', args);
      t.is(run.code, 2, args.join(' '));
      t.is(run.stdout, '');
      t.true(run.stderr.startsWith(`fib-perf2: `), run.stderr);
      t.true(run.stderr.split('\n')[0]!.includes(message), `${args.join(' ')}: ${run.stderr.split('\n')[0]}`);
      t.true(run.stderr.includes('Usage: fib-perf2'));
    }),
  );
});

test('fib-perf2 --json prints one summary object on stdout and nothing else', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf2', [
    '--port',
    String(server.port),
    '--requests',
    '300',
    '--pipeline',
    '16',
    '--connections',
    '2',
    '--json',
  ]);
  t.is(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  t.is(lines.length, 1);
  const result = JSON.parse(lines[0]!);
  t.is(result.tool, 'fib-perf2');
  t.is(result.version, version);
  t.is(result.stopReason, 'requests');
  t.is(result.requests.ok, 300);
  t.deepEqual(result.options, {
    n: 1,
    connections: 2,
    pipeline: 16,
    duration: null,
    requests: 300,
    rate: null,
    arrivals: 'uniform',
    warmup: 0,
  });
  t.is(server.requests, 300);
});

test('fib-perf1 prints the seconds of every answer, then the summary', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf1', ['--port', String(server.port), '--requests', '4', '--n', '15']);
  t.is(run.code, 0, run.stderr);
  const lines = run.stdout.split('\n');
  for (const line of lines.slice(0, 4)) t.regex(line, /^\d+\.\d{6}$/);
  t.regex(lines[4]!, /^fib-perf1: 127\.0\.0\.1:\d+, n=15, 1 connection, pipeline 1, closed loop$/);
  t.regex(run.stdout, /requests {3}4 ok, 0 failed, 0 unanswered at stop/);
  t.regex(run.stdout, /│ Latency │ 2\.5% +│ 50% +│ 97\.5% +│ 99% +│ 99\.9% +│ Max +│ Mean +│ Stdev +│/);
  t.deepEqual(server.ns, [15, 15, 15, 15]);
});

test('fib-perf1 asks for fib(30) by default', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf1', ['--port', String(server.port), '--requests', '1', '--quiet']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(server.ns, [30]);
});

test('fib-perf2 prints "N reqs/sec" once a second, then the summary', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf2', ['--port', String(server.port), '--duration', '1.3']);
  t.is(run.code, 0, run.stderr);
  const [first] = run.stdout.split('\n');
  t.regex(first!, /^\d+ reqs\/sec$/);
  t.regex(run.stdout, /measured {3}1\.\d\d s \(stopped: duration\)/);
  t.regex(run.stdout, /rate {7}\d+ reqs\/sec mean, \d+ peak/);
});

test('--quiet keeps only the summary; with --json, progress goes to stderr', async (t) => {
  const server = await serve(t);
  const quiet = await runBin('fib-perf1', ['--port', String(server.port), '--requests', '3', '--n', '5', '--quiet']);
  t.is(quiet.code, 0);
  t.regex(quiet.stdout, /^fib-perf1: /);
  const json = await runBin('fib-perf1', ['--port', String(server.port), '--requests', '3', '--n', '5', '--json']);
  t.is(json.code, 0);
  t.is(JSON.parse(json.stdout).requests.ok, 3);
  t.is(json.stderr.trim().split('\n').length, 3);
  t.regex(json.stderr, /^\d+\.\d{6}\n/);
});

test('--host, --rate and --warmup reach the engine', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf2', [
    '--host',
    'localhost',
    '--port',
    String(server.port),
    '--rate',
    '200',
    '--requests',
    '10',
    '--warmup',
    '0.1',
    '--json',
  ]);
  t.is(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  t.is(result.target.host, 'localhost');
  t.is(result.options.rate, 200);
  t.is(result.options.warmup, 0.1);
  t.is(result.requests.ok, 10);
  t.is(server.requests, 10 + result.warmup.ok);
  t.regex(run.stdout, /"rate":200/);
});

test('an unreachable server: exit 3, one clear line, no stack trace', async (t) => {
  const port = await freePort();
  const run = await runBin('fib-perf2', ['--port', String(port), '--duration', '1']);
  t.is(run.code, 3);
  t.is(run.stdout, '');
  t.is(run.stderr, `fib-perf2: cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
  const quiet = await runBin('fib-perf1', ['--port', String(port), '--quiet']);
  t.is(quiet.code, 3);
  t.is(quiet.stderr, `fib-perf1: cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
  const json = await runBin('fib-perf2', ['--port', String(port), '--json', '--quiet']);
  t.is(json.code, 3);
  t.is(JSON.parse(json.stdout).stopReason, 'connect-failed');
});

test('ERR answers are reported; exit 0 while some answers are correct, 1 when none are', async (t) => {
  const some = await serve(t, ({ n, index }) =>
    index % 2 === 0 ? `${naiveFib(n)}\n` : 'ERR busy server is at capacity\n',
  );
  const none = await serve(t, () => 'ERR out_of_range n must be at most 40\n');
  const partly = await runBin('fib-perf2', ['--port', String(some.port), '--requests', '10']);
  t.is(partly.code, 0);
  t.regex(partly.stdout, /requests {3}5 ok, 5 failed/);
  t.regex(partly.stdout, /failed {5}5 ERR busy/);
  t.regex(partly.stderr, /^fib-perf2: server answered ERR busy server is at capacity$/m);
  const failed = await runBin('fib-perf1', ['--port', String(none.port), '--requests', '3', '--n', '45']);
  t.is(failed.code, 1);
  t.regex(failed.stderr, /fib-perf1: no correct answer \(server answered ERR out_of_range n must be at most 40\)\n$/);
});

test('wrong answers fail the run (exit 1)', async (t) => {
  const server = await serve(t, ({ n, index }) => `${index === 3 ? 0 : naiveFib(n)}\n`);
  const run = await runBin('fib-perf2', ['--port', String(server.port), '--requests', '10', '--n', '6']);
  t.is(run.code, 1);
  t.regex(run.stdout, /failed {5}1 wrong/);
  t.regex(run.stderr, /wrong answer: expected 8, got 0/);
  t.regex(run.stderr, /fib-perf2: 1 wrong or malformed answers\n$/);
});

test('a reset connection is reported and counted', async (t) => {
  const server = await serve(
    t,
    answerThen(2, (socket) => socket.resetAndDestroy()),
  );
  const run = await runBin('fib-perf2', ['--port', String(server.port), '--json']);
  t.is(run.code, 3, 'cut short');
  t.regex(run.stderr, /fib-perf2: cut short: the server closed every connection\n$/);
  const result = JSON.parse(run.stdout);
  t.is(result.stopReason, 'connections-lost');
  t.is(result.requests.ok, 2);
  t.is(result.requests.lost, 1);
  t.regex(run.stderr, /fib-perf2: connection reset by the server/);
});

test('Ctrl-C stops the run and prints the summary', async (t) => {
  const server = await serve(t);
  let interrupted = false;
  const run = await runBin('fib-perf2', ['--port', String(server.port)], {
    onSpawn(child, output) {
      // Interrupt once the first per-second line proves it is measuring.
      const timer = setInterval(() => {
        if (!interrupted && output.stdout.includes('reqs/sec')) {
          interrupted = true;
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 20);
      child.on('exit', () => clearInterval(timer));
    },
  });
  t.true(interrupted);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /\(stopped: signal\)/);
});

test('the bins are executable node scripts', (t) => {
  for (const name of ['fib-perf1', 'fib-perf2'] as const) t.true(binPath(name).endsWith('.js'));
});

test('short flags, durations with units and a positional target reach the engine', async (t) => {
  const server = await serve(t);
  const short = await runBin('fib-perf2', [`127.0.0.1:${server.port}`, '-c', '2', '-p4', '-n', '40', '-j']);
  t.is(short.code, 0, short.stderr);
  const result = JSON.parse(short.stdout);
  t.deepEqual(result.target, { host: '127.0.0.1', port: server.port });
  t.like(result.options, { connections: 2, pipeline: 4, requests: 40 });
  t.is(result.requests.ok, 40);

  const timed = await runBin('fib-perf2', [`:${server.port}`, '-d', '1200ms', '-q']);
  t.is(timed.code, 0, timed.stderr);
  // 1.2 s, give or take a timer that a busy machine fires late.
  t.regex(timed.stdout, /measured {3}1\.[23]\d s \(stopped: duration\)/);

  const scheduled = await runBin('fib-perf2', [
    String(server.port),
    '-R',
    '500',
    '--arrivals',
    'poisson',
    '-n',
    '20',
    '--json',
  ]);
  t.is(scheduled.code, 0, scheduled.stderr);
  t.like(JSON.parse(scheduled.stdout).options, { rate: 500, arrivals: 'poisson', requests: 20 });

  const named = await runBin('fib-perf1', [
    '--port',
    String(server.port),
    'localhost',
    '-n',
    '1',
    '--n',
    '3',
    '-q',
    '-j',
  ]);
  t.is(named.code, 0, named.stderr);
  t.deepEqual(JSON.parse(named.stdout).target, { host: 'localhost', port: server.port });
});

test('the summary has the latency and per-second rate tables; a pipe gets no progress bar', async (t) => {
  const server = await serve(t);
  const run = await runBin('fib-perf2', ['--port', String(server.port), '-d', '2.2s']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /│ Req\/Sec │ Min +│ 2\.5% +│ 50% +│ Mean +│ Stdev +│ Max +│\n├[─┼]+┤\n│ +│ [\d,]+ +│/);
  t.regex(run.stdout, /2 full seconds sampled/);
  // Exactly the lines: no carriage return, no terminal escape.
  const output = run.stdout + run.stderr;
  t.false(output.includes('\r') || output.includes(ESC), JSON.stringify(run.stderr));
});

test('on a terminal, a progress bar shows the time left', async (t) => {
  const server = await serve(t);
  // script(1) gives the bin a pseudo-terminal, as a person's shell would.
  const command = [process.execPath, binPath('fib-perf2'), '--port', String(server.port), '-d', '1.6s']
    .map((word) => `'${word}'`)
    .join(' ');
  const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  t.is(run.code, 0, run.out);
  const bar = new RegExp(`\r${ESC}\\[K\\[[#.]{24}\\] \\d+\\.\\d s / 1\\.6 s, \\d+\\.\\d s left`);
  t.regex(run.out, bar);
  t.regex(run.out, /fib-perf2: 127\.0\.0\.1:\d+/);
});

test('a reader that goes away (| head -3) stops the run quietly, exit 0', async (t) => {
  const server = await serve(t);
  const lines = 3;
  const run = await runBin('fib-perf1', ['--port', String(server.port), '--n', '1', '-d', '30s'], {
    onSpawn: (child, output) =>
      child.stdout!.on('data', () => {
        if (output.stdout.split('\n').length > lines) child.stdout!.destroy();
      }),
  });
  t.is(run.code, 0, run.stderr);
  t.is(run.stderr, '');
  t.true(server.connections === 1);
});

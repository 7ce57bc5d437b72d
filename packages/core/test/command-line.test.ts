// The command-line layer every bin shares: flag forms, durations, the
// positional target, suggestions, the environment, and one wording for errors.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OptionError, parseCommandLine, parseSeconds, parseTarget, suggestFlag, type OptionTable } from '@fib/core/cli';
import { OPTION_SPECS, parseArgs, type OptionPolicy } from '@fib/core';

const TABLE = {
  host: { flag: '--host', kind: 'string', help: 'address' },
  port: { flag: '--port', kind: 'integer', min: 1, max: 65535, help: 'port' },
  connections: { flag: '--connections', short: 'c', kind: 'integer', min: 1, max: 100, help: 'connections' },
  duration: { flag: '--duration', short: 'd', kind: 'seconds', min: 0, minExclusive: true, max: 1000, help: 'time' },
  arrivals: { flag: '--arrivals', kind: 'choice', choices: ['uniform', 'poisson'], help: 'arrivals' },
  json: { flag: '--json', short: 'j', kind: 'boolean', help: 'json' },
} as const satisfies OptionTable;

const parse = (argv: string[], positionals = 0) => parseCommandLine(argv, TABLE, { positionals });
const values = (argv: string[], positionals = 0) => Object.fromEntries(parse(argv, positionals).values);
const message = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    return error.message;
  }
  throw new Error('no OptionError');
};

test('long, long=, short, short-with-value and grouped flags all give the same values', (t) => {
  const expected = { connections: 4, duration: 10, json: true };
  t.deepEqual(values(['--connections', '4', '--duration', '10s', '--json']), expected);
  t.deepEqual(values(['--connections=4', '--duration=10', '--json']), expected);
  t.deepEqual(values(['-c', '4', '-d', '10s', '-j']), expected);
  t.deepEqual(values(['-c4', '-d10s', '-j']), expected);
  t.deepEqual(values(['-jc', '4', '-d', '10000ms']), expected);
});

test('durations take ms, s, m and h, and a plain number is seconds', (t) => {
  t.is(parseSeconds('500ms'), 0.5);
  t.is(parseSeconds('10s'), 10);
  t.is(parseSeconds('2m'), 120);
  t.is(parseSeconds('1.5h'), 5400);
  t.is(parseSeconds('1.5'), 1.5);
  t.is(parseSeconds('1e2'), 100);
  for (const bad of ['abc', '10 s', 's', '', '5x', '1e3ms']) t.true(Number.isNaN(parseSeconds(bad)), bad);
  t.is(values(['-d', '2m']).duration, 120);
  t.is(
    message(() => parse(['-d', 'soon'])),
    '--duration must be a number of seconds above 0, up to 1000, or a duration such as 500ms, 10s or 2m (got "soon")',
  );
  t.is(
    message(() => parse(['-d', '0ms'])),
    '--duration must be a number of seconds above 0, up to 1000 (got 0)',
  );
});

test('help and version, long and short; the first one met wins', (t) => {
  for (const argv of [['--help'], ['-h'], ['-c', '2', '-h', '--bogus']])
    t.is(parse(argv).action, 'help', argv.join(' '));
  for (const argv of [['--version'], ['-v']]) t.is(parse(argv).action, 'version');
  t.is(
    message(() => parse(['--bogus', '--help'])),
    'unknown option --bogus',
  );
});

test('an unknown flag suggests the closest one on the first line', (t) => {
  t.is(
    message(() => parse(['--portt', '5'])),
    'unknown option --portt (did you mean --port?)',
  );
  t.is(
    message(() => parse(['--conections', '5'])),
    'unknown option --conections (did you mean --connections?)',
  );
  t.is(
    message(() => parse(['--conn', '5'])),
    'unknown option --conn (did you mean --connections?)',
  );
  t.is(
    message(() => parse(['--jsn'])),
    'unknown option --jsn (did you mean --json?)',
  );
  t.is(
    message(() => parse(['--hepl'])),
    'unknown option --hepl (did you mean --help?)',
  );
  t.is(
    message(() => parse(['-port', '5'])),
    'unknown option -port (did you mean --port?)',
  );
  t.is(
    message(() => parse(['-x'])),
    'unknown option -x',
  );
  t.is(
    message(() => parse(['--zzzzzz'])),
    'unknown option --zzzzzz',
  );
  t.is(suggestFlag('--n', ['--rate', '--requests']), undefined);
  t.is(suggestFlag('--strategy', ['--strategies', '--scenarios']), '--strategies');
  t.is(suggestFlag('--bogus', ['--host', '--port', '--help']), undefined);
});

test('one wording for every mistake', (t) => {
  t.is(
    message(() => parse(['--port'])),
    '--port needs a value',
  );
  t.is(
    message(() => parse(['--port', '--json'])),
    '--port needs a value',
  );
  t.is(
    message(() => parse(['--port', 'abc'])),
    '--port must be an integer from 1 to 65535 (got "abc")',
  );
  t.is(
    message(() => parse(['--port', '70000'])),
    '--port must be an integer from 1 to 65535 (got 70000)',
  );
  t.is(
    message(() => parse(['-c', '1.5'])),
    '--connections must be an integer from 1 to 100 (got 1.5)',
  );
  t.is(
    message(() => parse(['--json=yes'])),
    '--json takes no value (got "yes")',
  );
  t.is(
    message(() => parse(['-c', '1', '-c', '2'])),
    '--connections given twice',
  );
  t.is(
    message(() => parse(['--arrivals', 'bursty'])),
    '--arrivals must be one of uniform, poisson (got "bursty")',
  );
  t.is(
    message(() => parse(['stray'])),
    'unexpected argument "stray"',
  );
  t.is(
    message(() => parse(['a', 'b'], 1)),
    'unexpected argument "b"',
  );
  t.deepEqual(parse(['-c', '2', '127.0.0.1:9', '--json'], 1).positionals, ['127.0.0.1:9']);
  t.deepEqual(parse(['--', '-weird'], 1).positionals, ['-weird']);
});

test('a positional target: host:port, [v6]:port, :port, port or host', (t) => {
  const port = TABLE.port;
  t.deepEqual(parseTarget('127.0.0.1:25000', port), { host: '127.0.0.1', port: 25000 });
  t.deepEqual(parseTarget('localhost:8', port), { host: 'localhost', port: 8 });
  t.deepEqual(parseTarget('[::1]:25001', port), { host: '::1', port: 25001 });
  t.deepEqual(parseTarget('[::1]', port), { host: '::1' });
  t.deepEqual(parseTarget('::1', port), { host: '::1' });
  t.deepEqual(parseTarget(':25002', port), { port: 25002 });
  t.deepEqual(parseTarget('25003', port), { port: 25003 });
  t.deepEqual(parseTarget('example.org', port), { host: 'example.org' });
  t.is(
    message(() => parseTarget('host:http', port)),
    'the port of "host:http" must be an integer from 1 to 65535 (got "http")',
  );
});

test('the environment fills what no flag gave; the prefixed variable beats the alias; a flag beats both', (t) => {
  const env = (vars: NodeJS.ProcessEnv, argv: string[] = []) =>
    parseCommandLine(argv, TABLE, { env: { vars, prefix: 'FIB_', aliases: { PORT: 'port' } } });
  t.is(env({ FIB_PORT: '7' }).values.get('port'), 7);
  t.is(env({ PORT: '8' }).values.get('port'), 8);
  t.is(env({ PORT: '8', FIB_PORT: '7' }).values.get('port'), 7);
  t.is(env({ PORT: '8', FIB_PORT: '7' }, ['--port', '9']).values.get('port'), 9);
  t.is(env({ FIB_PORT: '7' }, ['--port', '9']).sources.get('port'), '--port');
  t.is(env({ FIB_PORT: '7' }).sources.get('port'), 'FIB_PORT');
  t.is(env({ PORT: '' }).values.has('port'), false);
  t.is(env({ FIB_DURATION: '1m', FIB_JSON: 'true' }).values.get('duration'), 60);
  t.is(env({ FIB_JSON: 'true' }).values.get('json'), true);
  t.is(
    message(() => env({ FIB_PORT: 'abc' })),
    'FIB_PORT must be an integer from 1 to 65535 (got "abc")',
  );
  t.is(
    message(() => env({ PORT: '0' })),
    'PORT must be an integer from 1 to 65535 (got 0)',
  );
  t.is(
    message(() => env({ FIB_JSON: 'maybe' })),
    'FIB_JSON must be true or false (got "maybe")',
  );
  // A bad variable does not matter when a flag overrides it.
  t.is(env({ FIB_PORT: 'abc' }, ['--port', '3']).values.get('port'), 3);
});

test('server options: every flag has a FIB_ variable; inapplicable ones are ignored, not refused', (t) => {
  const noPool = { hasWorkerPool: false };
  const pool = { hasWorkerPool: true, dispatchesToWorkers: true };
  const serve = (argv: string[], env: NodeJS.ProcessEnv, policy: OptionPolicy = pool) => {
    const parsed = parseArgs(argv, policy, env);
    if (parsed.action !== 'serve') throw new Error(parsed.action);
    return parsed.options;
  };
  const options = serve([], {
    FIB_HOST: '::1',
    FIB_PORT: '0',
    FIB_WORKERS: '3',
    FIB_MAX_N: '30',
    FIB_MAX_LINE: '64',
    FIB_MAX_PIPELINE: '8',
    FIB_MAX_QUEUE: '9',
    FIB_MAX_CONNECTIONS: '10',
    FIB_INLINE_MAX_N: '15',
    FIB_IDLE_TIMEOUT: '2m',
    FIB_SHUTDOWN_TIMEOUT: '500ms',
    FIB_METRICS_PORT: '0',
    FIB_LOG_FORMAT: 'json',
    FIB_LOG_LEVEL: 'debug',
  });
  t.like(options, {
    host: '::1',
    port: 0,
    workers: 3,
    maxN: 30,
    maxLine: 64,
    maxPipeline: 8,
    maxQueue: 9,
    maxConnections: 10,
    inlineMaxN: 15,
    idleTimeout: 120,
    shutdownTimeout: 0.5,
    metricsPort: 0,
    logFormat: 'json',
    logLevel: 'debug',
  });
  t.is(Object.keys(OPTION_SPECS).length, 14, 'a new option needs a line in the environment test above');
  t.is(serve(['--max-n', '20'], { FIB_MAX_N: '30' }).maxN, 20);
  t.is(serve([], { PORT: '4000' }).port, 4000);
  t.is(serve([], { FIB_WORKERS: '3' }, noPool).port, 25000);
  t.throws(() => serve([], { FIB_MAX_N: '79' }), {
    instanceOf: OptionError,
    message: 'FIB_MAX_N must be an integer from 0 to 78 (got 79)',
  });
  t.throws(() => serve(['--workers', '2'], {}, noPool), { message: /--workers does not apply/ });
  // Without an environment (the library, tests), nothing is read from process.env.
  process.env.FIB_MAX_N = '79';
  t.teardown(() => delete process.env.FIB_MAX_N);
  t.notThrows(() => parseArgs([], pool));
});

const require = createRequire(import.meta.url);
const asyncBin = join(dirname(require.resolve('@fib/server-async/package.json')), 'dist', 'bin.js');

test('a server bin: a bad variable names it and exits 2; --help documents the variables', (t) => {
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [asyncBin, ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const bad = run([], { FIB_MAX_N: 'many' });
  t.is(bad.status, 2);
  t.is(bad.stdout, '');
  t.is(bad.stderr.split('\n')[0], 'fib-server-async: FIB_MAX_N must be an integer from 0 to 78 (got "many")');
  t.regex(bad.stderr, /Usage: fib-server-async/);
  const typo = run(['--max-nn', '3'], {});
  t.is(typo.status, 2);
  t.is(typo.stderr.split('\n')[0], 'fib-server-async: unknown option --max-nn (did you mean --max-n?)');
  const help = run(['-h'], {});
  t.is(help.status, 0);
  t.regex(help.stdout, /FIB_PORT/);
  t.regex(help.stdout, /PORT sets the port/);
  t.regex(help.stdout, /FIB_IDLE_TIMEOUT/);
});

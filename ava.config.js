// One ava run covers every package: tests are TypeScript, loaded through tsx,
// and import the packages by name (their built dist), as a user would.
export default {
  files: ['packages/*/test/**/*.test.ts', 'benchmarks/test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  // Tests spawn servers, send signals and count processes: separate processes
  // keep one file's children and signal handlers away from another's.
  workerThreads: false,
  concurrency: 2,
  timeout: '90s',
};

// The machine's own two-process ceiling: how much more fib(27) two plain node
// processes compute than one. On a VM with 2 vCPUs this is often well below
// 2 (shared hyperthreads, a busy host), and no strategy can beat it: panel E
// draws it as the reference line.
import { spawn } from 'node:child_process';
import { SCALING_N } from './scenarios.js';
import { median } from './stats.js';

export interface Ceiling {
  /** fib(27) per second of one process alone, and of two at once (summed). */
  one: number;
  two: number;
  /** two / one: the scaling a perfect server could reach with two workers. */
  ratio: number;
  seconds: number;
}

/**
 * A child that computes fib(n) with the servers' naive recursion until its
 * time is up, then prints how many it finished. The first 100 ms are warmup
 * (JIT), not counted.
 */
const CHILD = `
const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2));
const [n, ms] = process.argv.slice(1).map(Number);
const warm = performance.now() + 100;
while (performance.now() < warm) fib(n);
const end = performance.now() + ms;
let count = 0;
while (performance.now() < end) { fib(n); count++; }
process.stdout.write(String(count));
`;

function countIn(ms: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, String(n), String(ms)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`fib child exited with ${code}`)),
    );
  });
}

/** One process alone, then two at once, each for `seconds`; `rounds` pairs alternate, and the medians are kept. */
export async function measureCeiling(seconds: number, rounds = 1, n = SCALING_N): Promise<Ceiling> {
  const ms = seconds * 1000;
  const ones: number[] = [];
  const twos: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const alone = (await countIn(ms, n)) / seconds;
    const pair = await Promise.all([countIn(ms, n), countIn(ms, n)]);
    const both = (pair[0] + pair[1]) / seconds;
    ones.push(alone);
    twos.push(both);
    ratios.push(both / alone);
  }
  return {
    one: Math.round(median(ones)!),
    two: Math.round(median(twos)!),
    ratio: Math.round(median(ratios)! * 100) / 100,
    seconds,
  };
}

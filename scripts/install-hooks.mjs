// The root `prepare` step's second half: installs the repository's git hooks
// (simple-git-hooks, configured in package.json: commit messages checked by
// commitlint, see commitlint.config.mjs). Never fails the install: where
// there is nothing to hook (no .git, as in a tarball or an archive) or nobody
// commits (CI), it says so and returns.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @param {string} reason */
function skip(reason) {
  console.log(`git hooks not installed: ${reason}`);
}

if (process.env.CI) skip('CI is set');
else if (!existsSync(join(root, '.git'))) skip(`no .git in ${root}`);
else {
  let cli;
  try {
    cli = createRequire(import.meta.url).resolve('simple-git-hooks/cli.js');
  } catch {
    cli = undefined;
  }
  if (cli === undefined) skip('simple-git-hooks is not installed (npm install --omit=dev?)');
  else {
    const result = spawnSync(process.execPath, [cli], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) skip(`simple-git-hooks exited with ${result.status ?? result.signal}`);
  }
}

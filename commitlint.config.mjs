// Commit messages: conventional commits (lerna derives versions and
// changelogs from them), a first line of at most 72 characters (what git log
// --oneline and most tools show), and a fixed list of scopes: the package
// folders, so that `git log -- packages/x` and the scopes agree, plus the
// parts of the repository that are not packages. Checked by the commit-msg
// hook that `npm install` sets up (scripts/install-hooks.mjs).
import { readdirSync } from 'node:fs';
import conventional from '@commitlint/config-conventional';

const packages = readdirSync(new URL('./packages/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** Scopes that are not package folders: the lab, CI, docs, the build, dependencies, lerna's release commits. */
const OTHER_SCOPES = ['benchmarks', 'ci', 'docs', 'build', 'deps', 'release'];

/** Conventional's types, and `deps` for a dependency change scoped by the package it concerns: `deps(core): ...`. */
const TYPES = [...conventional.rules['type-enum'][2], 'deps'];

/** Characters git log --oneline shows in an 80-column terminal next to the hash. */
const MAX_HEADER = 72;

export default {
  extends: ['@commitlint/config-conventional'],
  rules: {
    'type-enum': [2, 'always', TYPES],
    'header-max-length': [2, 'always', MAX_HEADER],
    'scope-enum': [2, 'always', [...packages, ...OTHER_SCOPES]],
  },
};

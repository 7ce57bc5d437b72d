#!/usr/bin/env node
import { runCli } from '@fib/core';
import { program } from './index.js';

await runCli(program, new URL('../package.json', import.meta.url));

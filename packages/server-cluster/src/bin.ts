#!/usr/bin/env node
import { runCli, strategyProgram } from '@fib/core';
import { strategy } from './index.js';

await runCli(strategyProgram(strategy), new URL('../package.json', import.meta.url));

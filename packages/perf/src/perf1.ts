#!/usr/bin/env node
import { main, PERF1 } from './lib/cli.js';

process.exitCode = await main(PERF1);

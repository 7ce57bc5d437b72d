#!/usr/bin/env node
import { main, PERF2 } from './lib/cli.js';

process.exitCode = await main(PERF2);

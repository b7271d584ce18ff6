#!/usr/bin/env node
import { main } from './cli.js';

void main();

// The reference JavaScript evaluator's load time for a flag file: FlagdCore.setConfigurations
// (parse, validate against the schema, store), the median of 5 loads after one warm-up.
//
//   node bench/js/load_time.js FILE
'use strict';
const fs = require('node:fs');
const { FlagdCore } = require('@openfeature/flagd-core');

const flags = fs.readFileSync(process.argv[2], 'utf8');
const times = [];
for (let i = 0; i < 6; ++i) {
  const core = new FlagdCore();
  const start = process.hrtime.bigint();
  core.setConfigurations(flags);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (i > 0) times.push(ms);
}
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)].toFixed(1));

// The reference JavaScript evaluator (@openfeature/flagd-core) on the flag definitions and
// context of bench/targeting_bench.cpp, timed the way Google Benchmark times ours: many
// evaluations per sample, the median of the samples.
//
//   node bench/js/reference_bench.js bench/targeting_flags.json
'use strict';
const fs = require('node:fs');
const { FlagdCore } = require('@openfeature/flagd-core');

const flags = fs.readFileSync(process.argv[2], 'utf8');
const core = new FlagdCore();
core.setConfigurations(flags);
const context = {
  country: 'DE',
  plan: 'enterprise',
  email: 'ann.smith@example.com',
  version: '2.10.3',
  targetingKey: '7c9e6679-7425-40de-944b-e07fc1f9',
};
const logger = { error() {}, warn() {}, info() {}, debug() {} };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

for (const flag of ['one-condition', 'three-conditions', 'rollout', 'semver']) {
  const evaluate = () => core.resolveBooleanEvaluation(flag, false, context, logger);
  for (let i = 0; i < 20000; ++i) evaluate();  // warm up the JIT
  const samples = [];
  const iterations = 50000;
  for (let s = 0; s < 9; ++s) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; ++i) evaluate();
    samples.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  const r = evaluate();
  console.log(`${flag.padEnd(18)} ${median(samples).toFixed(0).padStart(6)} ns   (${r.variant}, ${r.reason})`);
}

// A node:test reporter that prints one closing line, `node:test: N passed, M failed`, from the
// run's own totals (the top-level "pass"/"fail"/"cancelled"/"skipped" diagnostics), so that every test runner
// of `make test` ends the same way. Used next to the built-in spec reporter.
export default async function* summaryReporter(source) {
  const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
  for await (const event of source) {
    if (event.type !== "test:diagnostic" || event.data.nesting !== 0) continue;
    const match = /^(pass|fail|cancelled|skipped) (\d+)$/.exec(event.data.message);
    if (match) totals[match[1]] = Number(match[2]);
  }
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : "";
  // A cancelled test (a file that crashed or timed out) is a failure.
  const failed = totals.fail + totals.cancelled;
  yield `node:test: ${totals.pass} passed, ${failed} failed${skipped}\n`;
}

// Runs the as-pect specs and ends with one line `as-pect: N passed, M failed` from its counts.
// as-pect's own exit code decides: a trap in a beforeAll reports zero tests yet exits 1.

const { spawnSync } = require("node:child_process");
const path = require("node:path");

const root = path.resolve(__dirname, "../..");
const run = spawnSync(
  process.execPath,
  // Arguments go on to as-pect: --file=REGEX runs only the specs whose path matches.
  [path.join(root, "node_modules/@as-pect/cli/lib/test"), "--config", "as-pect.config.cjs", "--nologo", ...process.argv.slice(2)],
  { cwd: root, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } },
);
process.stdout.write(run.stdout);
process.stderr.write(run.stderr);

const counts = /\[Tests\]: (\d+) pass, (\d+) fail/.exec(run.stdout.replace(/\x1b\[[0-9;]*m/g, ""));
const passed = counts ? Number(counts[1]) : 0;
const counted = counts ? Number(counts[2]) : 0;
// A run that failed without a failing test counted (a trap in beforeAll, a build error, no
// summary at all) still shows as a failure in the closing line, not as "0 failed".
const failed = (run.status !== 0 || counts === null) && counted === 0 ? 1 : counted;
console.log(`as-pect: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// A vitest reporter for scripts/test-all.mjs: writes, to the file named by NVMU_TALLY_FILE, every
// test's final state, every file-level error and every unhandled error of the run. vitest's own
// JSON report leaves out what this keeps: unhandled errors (the JSON says success), tests of a
// file whose worker died (they stay "pending" and count in no total) and the run's end reason.
import { writeFileSync } from 'node:fs';

/** @param {unknown} e */
function firstLine(e) {
  const err = /** @type {{ name?: string, message?: string } | undefined} */ (e);
  const text = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  return text.split('\n')[0];
}

export default class TallyReporter {
  /**
   * @param {ReadonlyArray<import('vitest/node').TestModule>} testModules
   * @param {ReadonlyArray<import('vitest/node').SerializedError>} unhandledErrors
   * @param {string} reason
   */
  onTestRunEnd(testModules, unhandledErrors, reason) {
    const file = process.env.NVMU_TALLY_FILE;
    if (file === undefined) return;
    const modules = testModules.map((m) => ({
      file: m.moduleId,
      project: m.project.name,
      state: m.state(),
      errors: m.errors().map(firstLine),
      tests: Array.from(m.children.allTests(), (t) => ({
        name: t.fullName,
        state: t.result().state,
        errors: (t.result().errors ?? []).map(firstLine),
      })),
    }));
    const unhandled = unhandledErrors.map((e) => {
      const where = /** @type {{ VITEST_TEST_PATH?: string, VITEST_TEST_NAME?: string }} */ (e);
      const cause = /** @type {{ cause?: { message?: string } }} */ (e).cause;
      return {
        error: firstLine(e) + (cause?.message === undefined ? '' : ` (${cause.message.split('\n')[0]})`),
        file: where.VITEST_TEST_PATH,
        test: where.VITEST_TEST_NAME,
      };
    });
    writeFileSync(file, JSON.stringify({ reason, modules, unhandled }, null, 1));
  }
}

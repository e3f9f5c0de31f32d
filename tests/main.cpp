// doctest entry point for vitgrad_tests, with three guards that keep every registered case honest
// under ctest (which runs one case per process, selected by name):
//  - a run whose name filter matched no test case fails (a mis-registered name would otherwise
//    "pass" with 0 assertions);
//  - a test case that ran to its end without a single assertion fails (a test that cannot fail);
//  - a run in which every case skipped (vg::test::skip(), e.g. no CUDA device) exits with
//    kSkipExitCode, which ctest reports as "Skipped" instead of "Passed".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/helpers.h"

namespace {

struct Tally {
    int cases = 0, skipped = 0;
    bool skip_current = false;
    std::vector<std::string> empty_cases;
};
Tally& tally() {
    static Tally t;
    return t;
}

struct GuardListener : doctest::IReporter {
    explicit GuardListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override {
        tally().skip_current = false;
        ++tally().cases;
    }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats& st) override {
        if (tally().skip_current) {
            ++tally().skipped;
        } else if (st.numAssertsCurrentTest == 0 && st.testCaseSuccess) {
            tally().empty_cases.push_back(doctest::getContextOptions()->currentTest->m_name);
        }
    }
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("vg_guard", 1, GuardListener);

}  // namespace

namespace vg::test {
void mark_skipped() { tally().skip_current = true; }
}  // namespace vg::test

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    int rc = context.run();
    if (context.shouldExit()) return rc;  // --help, --list-test-cases and other queries
    const Tally& t = tally();
    if (t.cases == 0) {
        std::fprintf(stderr, "vitgrad_tests: the name filter matched no test case\n");
        return 1;
    }
    for (const std::string& name : t.empty_cases)
        std::fprintf(stderr, "vitgrad_tests: test case \"%s\" ran no assertion\n", name.c_str());
    if (!t.empty_cases.empty()) return 1;
    // Said on every run that skipped something, so a script can tell "passed" from "mostly
    // skipped" (tests/gpu_check.sh fails a GPU run in which any case skipped).
    if (t.skipped > 0)
        std::fprintf(stderr, "vitgrad_tests: %d of %d test cases skipped\n", t.skipped, t.cases);
    if (rc == 0 && t.skipped == t.cases) return vg::test::kSkipExitCode;
    return rc;
}

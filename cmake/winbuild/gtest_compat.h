/*
 * gtest_compat.h - force-included into the test projects of the Visual Studio build
 * (Pipes.GoogleTest.targets), whose GoogleTest is the 1.8.1 NuGet package, while the CMake
 * builds use newer GoogleTest releases (Debian 12: 1.12.1). It lets the tests use the newer
 * names where 1.8.1 has the same thing under another name, and GTEST_SKIP.
 *
 * GoogleTest 1.10 renamed "test case" to "test suite" (TestCase -> TestSuite, SetUpTestCase ->
 * SetUpTestSuite, INSTANTIATE_TEST_CASE_P -> INSTANTIATE_TEST_SUITE_P, ...), keeping the old
 * names as aliases; below, the new names map back to the old ones, which is exact.
 *
 * GTEST_SKIP() (GoogleTest 1.10): 1.8.1 has no "skipped" result, so the test ends at the
 * skip, prints "Skipped: <message>" and records a "pipes_skipped" property (an attribute of the
 * test case in --gtest_output=xml); the test counts as passed. The tests skip only under
 * Wine, which the Visual Studio build never runs under.
 * Other post-1.8.1 API (GoogleMock, EXPECT_THAT, RegisterTest, ...) is rejected by
 * cmake/winbuild/check.sh before it reaches Windows.
 */
#ifndef PIPES_GTEST_COMPAT_H
#define PIPES_GTEST_COMPAT_H

#include <gtest/gtest.h>

#ifndef GTEST_SKIP
#include <cstdio>
#include <string>

namespace pipes_gtest_compat {
struct SkipNote {
    const char *file;
    int line;
    void operator=(const ::testing::Message &message) const
    {
        const std::string text = message.GetString();
        std::printf("%s(%d): Skipped: %s\n", file, line, text.c_str());
        ::testing::Test::RecordProperty("pipes_skipped", text.empty() ? "yes" : text);
    }
};
} // namespace pipes_gtest_compat

#define GTEST_SKIP()                                                           \
    return ::pipes_gtest_compat::SkipNote{__FILE__, __LINE__} = ::testing::Message()

#define INSTANTIATE_TEST_SUITE_P INSTANTIATE_TEST_CASE_P
#define TYPED_TEST_SUITE TYPED_TEST_CASE
#define TYPED_TEST_SUITE_P TYPED_TEST_CASE_P
#define REGISTER_TYPED_TEST_SUITE_P REGISTER_TYPED_TEST_CASE_P
#define INSTANTIATE_TYPED_TEST_SUITE_P INSTANTIATE_TYPED_TEST_CASE_P
#define SetUpTestSuite SetUpTestCase
#define TearDownTestSuite TearDownTestCase
#define TestSuite TestCase
#define test_suite_name test_case_name
#define current_test_suite current_test_case
#define GetTestSuite GetTestCase
#define total_test_suite_count total_test_case_count
#define successful_test_suite_count successful_test_case_count
#define failed_test_suite_count failed_test_case_count
#define test_suite_to_run_count test_case_to_run_count
#define OnTestSuiteStart OnTestCaseStart
#define OnTestSuiteEnd OnTestCaseEnd
#define GTEST_FLAG_GET(name) ::testing::GTEST_FLAG(name)
#define GTEST_FLAG_SET(name, value) (void)(::testing::GTEST_FLAG(name) = (value))
#endif

#endif /* PIPES_GTEST_COMPAT_H */

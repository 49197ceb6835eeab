#include "cache/usage_filter.h"

#include <gtest/gtest.h>

namespace kiln::cache {
namespace {

UsageInfo Rec(std::string id, std::string type, bool in_use) {
  UsageInfo u;
  u.rec.id = std::move(id);
  u.rec.record_type = std::move(type);
  u.rec.description = "local source for context";
  u.in_use = in_use;
  return u;
}

TEST(UsageFilterTest, ConditionsAndAlternatives) {
  auto local = Rec("a1", "source.local", false);
  auto regular = Rec("b2", "regular", true);
  auto f = UsageFilter::Parse({"type==source.local"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Match(local));
  EXPECT_FALSE((*f)->Match(regular));
  auto both = UsageFilter::Parse({"type==regular,inuse"});
  EXPECT_TRUE((*both)->Match(regular));
  EXPECT_FALSE((*both)->Match(local));
  auto any = UsageFilter::Parse({"id==a1", "id==b2"});
  EXPECT_TRUE((*any)->Match(local));
  EXPECT_TRUE((*any)->Match(regular));
  auto ne = UsageFilter::Parse({"type!=regular", "description~=context"});
  EXPECT_TRUE((*ne)->Match(regular));  // second alternative
  EXPECT_TRUE((*UsageFilter::Parse({}))->Match(local));
}

TEST(UsageFilterTest, BadFiltersNameTheProblem) {
  auto f = UsageFilter::Parse({"colour==red"});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("colour"), std::string::npos);
  auto g = UsageFilter::Parse({"type=>x"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::cache

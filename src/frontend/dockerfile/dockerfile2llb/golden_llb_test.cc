// Dockerfile → LLB goldens: every tests/testdata/dockerfile2llb/NAME.Dockerfile is converted and
// the result (each op in the order of the definition with its inputs as op numbers, its step
// name and its fields in protobuf text form, then the image config) compared with NAME.golden.
// A failing conversion's golden is its error and line range. Options come from comment lines
// `# opt: key=value` (frontend options: build-arg:*, label:*, target, platform (one; the build
// platform is linux/amd64), multi-platform). Base images `base:1` and `onbuild:1` resolve to
// fixed configs; `multi:1` to one per platform (its architecture and variant, and an ARCH
// environment variable naming them). KILN_UPDATE_GOLDEN=1 rewrites the goldens.

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/dockerfile/dockerfile2llb/convert.h"
#include "frontend/dockerfile/golden_testing.h"
#include "util/digest.h"

namespace kiln::dockerfile {
namespace {

ConvertOptions OptionsFor(const std::string& dockerfile) {
  ConvertOptions o;
  o.session_id = "golden-session";
  o.resolve_image = [](const std::string& ref,
                       const registry::Platform& platform) -> Result<ResolvedImage> {
    if (ref == "docker.io/library/multi:1") {
      nlohmann::json cfg = {
          {"architecture", platform.architecture},
          {"os", platform.os},
          {"config", {{"Env", {"ARCH=" + platform.String()}}}},
          {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + std::string(64, '2')}}}}};
      if (!platform.variant.empty()) cfg["variant"] = platform.variant;
      // The index's digest: the same for every platform.
      return ResolvedImage{Digest::FromBytes("multi:1").str(), cfg.dump()};
    }
    static const std::map<std::string, std::string> configs = {
        {"docker.io/library/base:1",
         R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin"],)"
         R"("WorkingDir":"/home","User":"1000"},"rootfs":{"type":"layers","diff_ids":["sha256:)"
         R"(0000000000000000000000000000000000000000000000000000000000000001"]}})"},
        {"docker.io/library/onbuild:1",
         R"({"architecture":"amd64","os":"linux","config":{"OnBuild":["ENV TRIGGERED=yes",)"
         R"("COPY trigger.txt /"]},"rootfs":{"type":"layers","diff_ids":[]}})"},
    };
    auto it = configs.find(ref);
    if (it == configs.end()) return NotFound("no image " + ref);
    return ResolvedImage{Digest::FromBytes(it->second).str(), it->second};
  };
  golden::ForEachOption(dockerfile, [&](const std::string& k, const std::string& v) {
    if (k.rfind("build-arg:", 0) == 0) {
      o.build_args[k.substr(10)] = v;
    } else if (k.rfind("label:", 0) == 0) {
      o.labels[k.substr(6)] = v;
    } else if (k == "target") {
      o.target = v;
    } else if (k == "platform") {
      auto p = registry::ParsePlatform(v);
      if (p.ok()) {
        o.target_platform = *p;
      } else {
        ADD_FAILURE() << p.status().message();
      }
    } else if (k == "multi-platform") {
      o.multi_platform = v == "true";
    } else {
      ADD_FAILURE() << "unknown golden option " << k;
    }
  });
  return o;
}

std::string Render(const std::string& dockerfile) {
  SourceRange range;
  auto r = Dockerfile2LLB(dockerfile, OptionsFor(dockerfile), &range);
  if (!r.ok()) {
    return "error L" + std::to_string(range.start) + "-" + std::to_string(range.end) + ": " +
           r.status().message() + "\n";
  }
  std::map<std::string, int> number;  // op digest -> its position
  std::vector<pb::Op> ops;
  for (const auto& bytes : r->definition.def()) {
    pb::Op op;
    if (!op.ParseFromString(bytes)) return "error: undecodable op\n";
    number[Digest::FromBytes(bytes).str()] = static_cast<int>(ops.size());
    ops.push_back(std::move(op));
  }
  std::string out;
  for (size_t i = 0; i < ops.size(); i++) {
    pb::Op op = ops[i];
    std::string inputs;
    for (const auto& in : op.inputs()) {
      auto it = number.find(in.digest());
      inputs += (inputs.empty() ? "" : " ") +
                (it == number.end() ? std::string("?") : std::to_string(it->second)) +
                (in.index() != 0 ? ":" + std::to_string(in.index()) : "");
    }
    op.clear_inputs();
    std::string dgst = Digest::FromBytes(r->definition.def(static_cast<int>(i))).str();
    std::string meta;
    if (auto m = r->definition.metadata().find(dgst); m != r->definition.metadata().end()) {
      pb::OpMetadata md = m->second;
      md.clear_caps();
      google::protobuf::TextFormat::Printer p;
      p.SetSingleLineMode(true);
      p.PrintToString(md, &meta);
    }
    std::string body;
    google::protobuf::TextFormat::Printer p;
    p.SetSingleLineMode(true);
    p.PrintToString(op, &body);
    out += "op " + std::to_string(i) + " <- [" + inputs + "]\n  " + body + "\n";
    if (!meta.empty()) out += "  meta " + meta + "\n";
    if (auto l = r->definition.source().locations().find(dgst);
        l != r->definition.source().locations().end()) {
      for (const auto& loc : l->second.locations()) {
        for (const auto& range : loc.ranges()) {
          out += "  at " + r->definition.source().infos(loc.sourceindex()).filename() + ":" +
                 std::to_string(range.start().line()) + "-" + std::to_string(range.end().line()) +
                 "\n";
        }
      }
    }
  }
  auto cfg = nlohmann::json::parse(r->image_config);
  out += "config " + cfg.dump(2) + "\n";
  return out;
}

class GoldenLlbTest : public testing::TestWithParam<std::string> {};

TEST_P(GoldenLlbTest, ConversionMatchesGolden) {
  golden::ExpectMatchesGolden(KILN_DOCKERFILE2LLB_TESTDATA, GetParam(), Render);
}

INSTANTIATE_TEST_SUITE_P(Dockerfiles, GoldenLlbTest,
                         testing::ValuesIn(golden::Cases(KILN_DOCKERFILE2LLB_TESTDATA)),
                         golden::ParamName);

TEST(GoldenLlbFiles, AreAllThere) {
  // Guards against a wrong testdata path silently running no golden case.
  EXPECT_GE(golden::Cases(KILN_DOCKERFILE2LLB_TESTDATA).size(), 10u);
}

}  // namespace
}  // namespace kiln::dockerfile

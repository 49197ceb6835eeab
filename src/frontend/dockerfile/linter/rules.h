#pragma once
// The Dockerfile build checks (BuildKit's frontend/dockerfile/linter ruleset): each rule's name,
// description and documentation URL exactly as BuildKit has them (users see them and skip rules
// by name), and the message each one prints. The checks themselves are in checks_*.cc.
// Constants and pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace kiln::dockerfile::lint {

struct Rule {
  std::string_view name;
  std::string_view description;
  std::string_view url;       // empty for rules without a page
  bool experimental = false;  // runs only when `# check=experimental=NAME|all` enables it
  bool deprecated = false;    // never runs
};

extern const Rule kStageNameCasing;
extern const Rule kFromAsCasing;
extern const Rule kNoEmptyContinuation;
extern const Rule kConsistentInstructionCasing;
extern const Rule kDuplicateStageName;
extern const Rule kReservedStageName;
extern const Rule kJSONArgsRecommended;
extern const Rule kMaintainerDeprecated;
extern const Rule kUndefinedArgInFrom;
extern const Rule kWorkdirRelativePath;
extern const Rule kUndefinedVar;
extern const Rule kMultipleInstructionsDisallowed;
extern const Rule kLegacyKeyValueFormat;
extern const Rule kInvalidBaseImagePlatform;
extern const Rule kRedundantTargetPlatform;
extern const Rule kSecretsUsedInArgOrEnv;
extern const Rule kInvalidDefaultArgInFrom;
extern const Rule kFromPlatformFlagConstDisallowed;
extern const Rule kCopyIgnoredFile;
extern const Rule kInvalidDefinitionDescription;
extern const Rule kExposeProtoCasing;
extern const Rule kExposeInvalidFormat;

// Every rule, in BuildKit's order.
const std::vector<const Rule*>& AllRules();

// The messages, as BuildKit formats them.
namespace msg {
std::string StageNameCasing(std::string_view stage);
std::string FromAsCasing(std::string_view from, std::string_view as);
std::string NoEmptyContinuation();
std::string ConsistentInstructionCasing(std::string_view command, std::string_view casing);
std::string DuplicateStageName(std::string_view stage);
std::string ReservedStageName(std::string_view stage);
std::string JSONArgsRecommended(std::string_view instruction);
std::string MaintainerDeprecated();
std::string UndefinedArgInFrom(std::string_view arg, std::string_view suggest);
std::string WorkdirRelativePath(std::string_view workdir);
std::string UndefinedVar(std::string_view var, std::string_view suggest);
std::string MultipleInstructionsDisallowed(std::string_view instruction);
std::string LegacyKeyValueFormat(std::string_view instruction);
std::string InvalidBaseImagePlatform(std::string_view image, std::string_view expected,
                                     std::string_view actual);
std::string RedundantTargetPlatform(std::string_view platform);
std::string SecretsUsedInArgOrEnv(std::string_view instruction, std::string_view key);
std::string InvalidDefaultArgInFrom(std::string_view base);
std::string FromPlatformFlagConstDisallowed(std::string_view platform);
std::string CopyIgnoredFile(std::string_view command, std::string_view file);
std::string InvalidDefinitionDescription(std::string_view instruction, std::string_view name);
std::string ExposeProtoCasing(std::string_view port);
std::string ExposeInvalidFormat(std::string_view port);
}  // namespace msg

}  // namespace kiln::dockerfile::lint

#include "frontend/dockerfile/linter/rules.h"

#include <fmt/format.h>

#include "util/go_quote.h"

namespace kiln::dockerfile::lint {

// Every page is under BuildKit's docs.docker.com/go/dockerfile/rule/ redirect.
#define KILN_RULE_URL(slug) "https://docs.docker.com/go/dockerfile/rule/" slug "/"

const Rule kStageNameCasing{"StageNameCasing", "Stage names should be lowercase",
                            KILN_RULE_URL("stage-name-casing")};
const Rule kFromAsCasing{"FromAsCasing",
                         "The 'as' keyword should match the case of the 'from' keyword",
                         KILN_RULE_URL("from-as-casing")};
const Rule kNoEmptyContinuation{"NoEmptyContinuation",
                                "Empty continuation lines will become errors in a future release",
                                KILN_RULE_URL("no-empty-continuation")};
const Rule kConsistentInstructionCasing{
    "ConsistentInstructionCasing",
    "All commands within the Dockerfile should use the same casing (either upper or lower)",
    KILN_RULE_URL("consistent-instruction-casing")};
const Rule kDuplicateStageName{"DuplicateStageName", "Stage names should be unique",
                               KILN_RULE_URL("duplicate-stage-name")};
const Rule kReservedStageName{"ReservedStageName",
                              "Reserved words should not be used as stage names",
                              KILN_RULE_URL("reserved-stage-name")};
const Rule kJSONArgsRecommended{"JSONArgsRecommended",
                                "JSON arguments recommended for ENTRYPOINT/CMD to prevent "
                                "unintended behavior related to OS signals",
                                KILN_RULE_URL("json-args-recommended")};
const Rule kMaintainerDeprecated{
    "MaintainerDeprecated",
    "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
    KILN_RULE_URL("maintainer-deprecated")};
const Rule kUndefinedArgInFrom{"UndefinedArgInFrom", "FROM command must use declared ARGs",
                               KILN_RULE_URL("undefined-arg-in-from")};
const Rule kWorkdirRelativePath{"WorkdirRelativePath",
                                "Relative workdir without an absolute workdir declared within the "
                                "build can have unexpected results if the base image changes",
                                KILN_RULE_URL("workdir-relative-path")};
const Rule kUndefinedVar{"UndefinedVar", "Variables should be defined before their use",
                         KILN_RULE_URL("undefined-var")};
const Rule kMultipleInstructionsDisallowed{
    "MultipleInstructionsDisallowed",
    "Multiple instructions of the same type should not be used in the same stage",
    KILN_RULE_URL("multiple-instructions-disallowed")};
const Rule kLegacyKeyValueFormat{"LegacyKeyValueFormat",
                                 "Legacy key/value format with whitespace separator should not "
                                 "be used",
                                 KILN_RULE_URL("legacy-key-value-format")};
const Rule kInvalidBaseImagePlatform{
    "InvalidBaseImagePlatform", "Base image platform does not match expected target platform", ""};
const Rule kRedundantTargetPlatform{"RedundantTargetPlatform",
                                    "Setting platform to predefined $TARGETPLATFORM in FROM is "
                                    "redundant as this is the default behavior",
                                    KILN_RULE_URL("redundant-target-platform")};
const Rule kSecretsUsedInArgOrEnv{"SecretsUsedInArgOrEnv",
                                  "Sensitive data should not be used in the ARG or ENV commands",
                                  KILN_RULE_URL("secrets-used-in-arg-or-env")};
const Rule kInvalidDefaultArgInFrom{
    "InvalidDefaultArgInFrom",
    "Default value for global ARG results in an empty or invalid base image name",
    KILN_RULE_URL("invalid-default-arg-in-from")};
const Rule kFromPlatformFlagConstDisallowed{"FromPlatformFlagConstDisallowed",
                                            "FROM --platform flag should not use a constant value",
                                            KILN_RULE_URL("from-platform-flag-const-disallowed")};
const Rule kCopyIgnoredFile{"CopyIgnoredFile",
                            "Attempting to Copy file that is excluded by .dockerignore",
                            KILN_RULE_URL("copy-ignored-file")};
const Rule kInvalidDefinitionDescription{
    "InvalidDefinitionDescription",
    "Comment for build stage or argument should follow the format: `# <arg/stage name> "
    "<description>`. If this is not intended to be a description comment, add an empty line or "
    "comment between the instruction and the comment.",
    KILN_RULE_URL("invalid-definition-description"), /*experimental=*/true};
const Rule kExposeProtoCasing{"ExposeProtoCasing",
                              "Protocol in EXPOSE instruction should be lowercase",
                              KILN_RULE_URL("expose-proto-casing")};
const Rule kExposeInvalidFormat{"ExposeInvalidFormat",
                                "IP address and host-port mapping should not be used in EXPOSE "
                                "instruction. This will become an error in a future release",
                                KILN_RULE_URL("expose-invalid-format")};

#undef KILN_RULE_URL

const std::vector<const Rule*>& AllRules() {
  static const std::vector<const Rule*> all = {&kStageNameCasing,
                                               &kFromAsCasing,
                                               &kNoEmptyContinuation,
                                               &kConsistentInstructionCasing,
                                               &kDuplicateStageName,
                                               &kReservedStageName,
                                               &kJSONArgsRecommended,
                                               &kMaintainerDeprecated,
                                               &kUndefinedArgInFrom,
                                               &kWorkdirRelativePath,
                                               &kUndefinedVar,
                                               &kMultipleInstructionsDisallowed,
                                               &kLegacyKeyValueFormat,
                                               &kInvalidBaseImagePlatform,
                                               &kRedundantTargetPlatform,
                                               &kSecretsUsedInArgOrEnv,
                                               &kInvalidDefaultArgInFrom,
                                               &kFromPlatformFlagConstDisallowed,
                                               &kCopyIgnoredFile,
                                               &kInvalidDefinitionDescription,
                                               &kExposeProtoCasing,
                                               &kExposeInvalidFormat};
  return all;
}

namespace msg {

std::string StageNameCasing(std::string_view stage) {
  return fmt::format("Stage name '{}' should be lowercase", stage);
}
std::string FromAsCasing(std::string_view from, std::string_view as) {
  return fmt::format("'{}' and '{}' keywords' casing do not match", as, from);
}
std::string NoEmptyContinuation() { return "Empty continuation line"; }
std::string ConsistentInstructionCasing(std::string_view command, std::string_view casing) {
  return fmt::format("Command '{}' should match the case of the command majority ({})", command,
                     casing);
}
std::string DuplicateStageName(std::string_view stage) {
  return fmt::format("Duplicate stage name {}, stage names should be unique", GoQuote(stage));
}
std::string ReservedStageName(std::string_view stage) {
  return fmt::format("Stage name should not use the same name as reserved stage {}",
                     GoQuote(stage));
}
std::string JSONArgsRecommended(std::string_view instruction) {
  return fmt::format(
      "JSON arguments recommended for {} to prevent unintended behavior related to OS signals",
      instruction);
}
std::string MaintainerDeprecated() {
  return "Maintainer instruction is deprecated in favor of using label";
}
std::string UndefinedArgInFrom(std::string_view arg, std::string_view suggest) {
  std::string out = fmt::format("FROM argument '{}' is not declared", arg);
  if (!suggest.empty()) out += fmt::format(" (did you mean {}?)", suggest);
  return out;
}
std::string WorkdirRelativePath(std::string_view workdir) {
  return fmt::format("Relative workdir {} can have unexpected results if the base image changes",
                     GoQuote(workdir));
}
std::string UndefinedVar(std::string_view var, std::string_view suggest) {
  std::string out = fmt::format("Usage of undefined variable '${}'", var);
  if (!suggest.empty()) out += fmt::format(" (did you mean ${}?)", suggest);
  return out;
}
std::string MultipleInstructionsDisallowed(std::string_view instruction) {
  return fmt::format(
      "Multiple {} instructions should not be used in the same stage because only the last one "
      "will be used",
      instruction);
}
std::string LegacyKeyValueFormat(std::string_view instruction) {
  return fmt::format("\"{0} key=value\" should be used instead of legacy \"{0} key value\" format",
                     instruction);
}
std::string InvalidBaseImagePlatform(std::string_view image, std::string_view expected,
                                     std::string_view actual) {
  return fmt::format("Base image {} was pulled with platform {}, expected {} for current build",
                     image, GoQuote(actual), GoQuote(expected));
}
std::string RedundantTargetPlatform(std::string_view platform) {
  return fmt::format(
      "Setting platform to predefined {} in FROM is redundant as this is the default behavior",
      platform);
}
std::string SecretsUsedInArgOrEnv(std::string_view instruction, std::string_view key) {
  return fmt::format("Do not use ARG or ENV instructions for sensitive data ({} {})", instruction,
                     GoQuote(key));
}
std::string InvalidDefaultArgInFrom(std::string_view base) {
  return fmt::format("Default value for ARG {} results in empty or invalid base image name", base);
}
std::string FromPlatformFlagConstDisallowed(std::string_view platform) {
  return fmt::format("FROM --platform flag should not use constant value {}", GoQuote(platform));
}
std::string CopyIgnoredFile(std::string_view command, std::string_view file) {
  return fmt::format("Attempting to {} file {} that is excluded by .dockerignore", command,
                     GoQuote(file));
}
std::string InvalidDefinitionDescription(std::string_view instruction, std::string_view name) {
  return fmt::format("Comment for {} should follow the format: `# {} <description>`", instruction,
                     name);
}
std::string ExposeProtoCasing(std::string_view port) {
  return fmt::format("Defined protocol '{}' in EXPOSE instruction should be lowercase", port);
}
std::string ExposeInvalidFormat(std::string_view port) {
  return fmt::format(
      "EXPOSE instruction should not define an IP address or host-port mapping, found '{}'", port);
}

}  // namespace msg

}  // namespace kiln::dockerfile::lint

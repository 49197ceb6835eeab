#pragma once
// What each Dockerfile instruction accepts, checked for every instruction of every stage before
// anything is converted (BuildKit parses all instructions up front, so a bad line in a stage
// the target does not need is still an error): its flags and the number and shape of its
// arguments. Internal to the converter. Stateless, thread-safe.

#include <set>
#include <string>

#include "frontend/dockerfile/dockerfile2llb/flags.h"
#include "frontend/dockerfile/parser/parser.h"
#include "util/status.h"

namespace kiln::dockerfile {

struct FlagSpec {
  std::set<std::string> strings;  // --name=value, once
  std::set<std::string> bools;    // --name, --name=true|false
  std::set<std::string> lists;    // --name=value, may repeat
};

// The flags `instruction` (lower case: "copy") accepts; none for an unknown instruction.
const FlagSpec& FlagsOf(const std::string& instruction);

// Parses a node's flags against its instruction's spec.
Result<Flags> ParseFlags(const Node& n);

// BuildKit's argument checks with its messages: "USER requires exactly one argument",
// "ENV names can not be blank", "COPY requires at least two arguments, but only one was
// provided. Destination could not be determined", plus unknown or malformed flags.
Status CheckInstruction(const Node& n);

}  // namespace kiln::dockerfile

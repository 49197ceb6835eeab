#include "frontend/dockerfile/dockerfile2llb/instructions.h"

#include <map>

namespace kiln::dockerfile {

const FlagSpec& FlagsOf(const std::string& instruction) {
  static const std::map<std::string, FlagSpec> specs = {
      {"from", {{"platform"}, {}, {}}},
      {"run", {{"network", "security"}, {}, {"mount"}}},
      {"copy", {{"from", "chown", "chmod"}, {"link", "parents"}, {"exclude"}}},
      {"add",
       {{"chown", "chmod", "checksum"},
        {"link", "parents", "keep-git-dir", "unpack"},
        {"exclude"}}},
      {"healthcheck",
       {{"interval", "timeout", "start-period", "start-interval", "retries"}, {}, {}}},
  };
  static const FlagSpec none;
  auto it = specs.find(instruction);
  return it == specs.end() ? none : it->second;
}

Result<Flags> ParseFlags(const Node& n) {
  const FlagSpec& spec = FlagsOf(n.value);
  return Flags::Parse(n.flags, spec.strings, spec.bools, spec.lists);
}

namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Status AtLeastOne(const std::string& v) {
  return InvalidArgument(Upper(v) + " requires at least one argument");
}
Status ExactlyOne(const std::string& v) {
  return InvalidArgument(Upper(v) + " requires exactly one argument");
}

}  // namespace

Status CheckInstruction(const Node& n) {
  const std::string& v = n.value;
  auto flags = ParseFlags(n);
  KILN_RETURN_IF_ERROR(flags.status());
  const size_t args = n.next.size();
  if (v == "env" || v == "label") {
    // Key, value and delimiter triples.
    if (args == 0) return AtLeastOne(v);
    if (args % 3 != 0) return InvalidArgument("Bad input to " + Upper(v) + ", too many arguments");
    for (size_t i = 0; i < args; i += 3) {
      if (n.next[i].empty()) return InvalidArgument(Upper(v) + " names can not be blank");
    }
  } else if (v == "arg") {
    if (args == 0) return AtLeastOne(v);
    for (const auto& a : n.next) {
      if (a.find('=') == 0) return InvalidArgument("ARG names can not be blank");
    }
  } else if (v == "maintainer" || v == "workdir" || v == "user" || v == "stopsignal") {
    if (args != 1) return ExactlyOne(v);
  } else if (v == "onbuild" && !n.children.empty()) {
    std::string trigger = Upper(n.children[0].value);
    if (trigger == "ONBUILD") {
      return InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    }
    if (trigger == "MAINTAINER" || trigger == "FROM") {
      return InvalidArgument(trigger + " isn't allowed as an ONBUILD trigger");
    }
  } else if (v == "onbuild" || v == "healthcheck" || v == "expose" || v == "volume" ||
             v == "shell") {
    if (args == 0 && (v != "onbuild" || n.children.empty())) return AtLeastOne(v);
  } else if (v == "copy" || v == "add") {
    if (args < 2) {
      return InvalidArgument(Upper(v) +
                             " requires at least two arguments, but only one was provided. "
                             "Destination could not be determined");
    }
  }
  return Status::Ok();
}

}  // namespace kiln::dockerfile

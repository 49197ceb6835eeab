#include "executor/exit_error.h"

#include "util/go_quote.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace kiln::executor {


Status ProcessExitError(const std::vector<std::string>& args, int exit_code,
                        const std::string& runtime_error) {
  std::string joined;
  for (size_t i = 0; i < args.size(); i++) {
    if (i > 0) joined += ' ';
    joined += args[i];
  }
  std::string why = runtime_error.empty() ? fmt::format("exit code: {}", exit_code) : runtime_error;
  return Status(Code::kUnknown,
                fmt::format("process {} did not complete successfully: {}", GoQuote(joined), why))
      .WithExitCode(exit_code);
}

std::string RuntimeLogErrors(const std::string& log_json_lines) {
  std::istringstream in(log_json_lines);
  std::string line, out;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    auto level = j.find("level");
    if (level == j.end() || !level->is_string() || level->get<std::string>() != "error") continue;
    auto msg = j.find("msg");
    if (msg == j.end() || !msg->is_string()) continue;
    if (!out.empty()) out += "; ";
    out += msg->get<std::string>();
  }
  return out;
}

}  // namespace kiln::executor

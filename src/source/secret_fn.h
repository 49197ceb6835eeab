#pragma once
// How a source reads a client secret for the job it runs for (the llbsolver op binds it to
// session::GetSecret over the job's sessions; tests give a map). A missing secret is NotFound.

#include <functional>
#include <string>

#include "util/status.h"

namespace kiln::source {

using SecretFn = std::function<Result<std::string>(const std::string& id)>;

}  // namespace kiln::source

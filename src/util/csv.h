#pragma once
// Splits one CSV record into fields the way Go's encoding/csv does (buildctl parses --output
// with it): comma-separated, a field may be double-quoted, "" inside quotes is a literal quote,
// spaces are kept, a bare quote inside an unquoted field is an error. Stateless.

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln {

Result<std::vector<std::string>> SplitCsvRecord(std::string_view record);

}  // namespace kiln

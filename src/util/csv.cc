#include "util/csv.h"

#include <fmt/format.h>

namespace kiln {

namespace {

Status CsvError(size_t column, std::string_view what) {
  return InvalidArgument(fmt::format("parse error on line 1, column {}: {}", column + 1, what));
}

}  // namespace

Result<std::vector<std::string>> SplitCsvRecord(std::string_view record) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < record.size() && record[i] == '"') {
      ++i;  // opening quote
      while (true) {
        if (i >= record.size()) return CsvError(i, "extraneous or missing \" in quoted-field");
        char c = record[i++];
        if (c != '"') {
          field.push_back(c);
          continue;
        }
        if (i < record.size() && record[i] == '"') {  // "" is a literal quote
          field.push_back('"');
          ++i;
          continue;
        }
        if (i < record.size() && record[i] != ',') {
          return CsvError(i, "extraneous or missing \" in quoted-field");
        }
        break;
      }
    } else {
      while (i < record.size() && record[i] != ',') {
        if (record[i] == '"') return CsvError(i, "bare \" in non-quoted-field");
        field.push_back(record[i++]);
      }
    }
    fields.push_back(std::move(field));
    if (i >= record.size()) break;
    ++i;  // the comma
  }
  return fields;
}

}  // namespace kiln

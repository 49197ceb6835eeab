#pragma once
// An elastic tabstop formatter with the semantics of Go's text/tabwriter as buildctl configures
// it (minwidth 1, tabwidth 8, padding 1, padchar '\t', no flags): '\t' terminates a cell, cells
// in a column of consecutive lines are padded with tabs to a common width, the last cell of a
// line is not part of any column. Not thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace kiln::client {

class TabWriter {
 public:
  TabWriter(int minwidth = 1, int tabwidth = 8, int padding = 1)
      : minwidth_(minwidth), tabwidth_(tabwidth), padding_(padding) {}

  void Write(std::string_view text);
  // Formats everything written so far (a last line without '\n' included) and resets.
  std::string Flush();

 private:
  struct Cell {
    std::string text;
    int width = 0;
  };
  using Line = std::vector<Cell>;

  void Format(std::string& out, size_t line0, size_t line1);
  void WriteLines(std::string& out, size_t line0, size_t line1);
  void WritePadding(std::string& out, int textw, int cellw) const;

  const int minwidth_;
  const int tabwidth_;
  const int padding_;
  std::vector<Line> lines_{Line{}};
  std::string cell_;
  std::vector<int> widths_;
};

}  // namespace kiln::client

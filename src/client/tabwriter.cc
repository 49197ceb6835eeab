#include "client/tabwriter.h"

namespace kiln::client {

namespace {

int RuneCount(std::string_view s) {
  int n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

void TabWriter::Write(std::string_view text) {
  for (char c : text) {
    if (c == '\t' || c == '\n') {
      lines_.back().push_back(Cell{cell_, RuneCount(cell_)});
      cell_.clear();
      if (c == '\n') lines_.emplace_back();
    } else {
      cell_.push_back(c);
    }
  }
}

std::string TabWriter::Flush() {
  if (!cell_.empty()) {
    lines_.back().push_back(Cell{cell_, RuneCount(cell_)});
    cell_.clear();
  }
  std::string out;
  widths_.clear();
  Format(out, 0, lines_.size());
  lines_.assign(1, Line{});
  return out;
}

// Go's (*tabwriter.Writer).format: finds blocks of consecutive lines that have a cell in the
// current column, sizes that column per block and recurses into the next column.
void TabWriter::Format(std::string& out, size_t line0, size_t line1) {
  size_t column = widths_.size();
  for (size_t cur = line0; cur < line1; ++cur) {
    if (column + 1 >= lines_[cur].size()) continue;
    WriteLines(out, line0, cur);
    line0 = cur;
    int width = minwidth_;
    for (; cur < line1; ++cur) {
      const Line& line = lines_[cur];
      if (column + 1 >= line.size()) break;
      width = std::max(width, line[column].width + padding_);
    }
    widths_.push_back(width);
    Format(out, line0, cur);
    widths_.pop_back();
    line0 = cur;
    if (cur >= line1) break;
  }
  WriteLines(out, line0, line1);
}

void TabWriter::WriteLines(std::string& out, size_t line0, size_t line1) {
  for (size_t i = line0; i < line1; ++i) {
    const Line& line = lines_[i];
    for (size_t j = 0; j < line.size(); ++j) {
      out += line[j].text;
      if (j < widths_.size()) WritePadding(out, line[j].width, widths_[j]);
    }
    if (i + 1 < lines_.size()) out.push_back('\n');
  }
}

void TabWriter::WritePadding(std::string& out, int textw, int cellw) const {
  if (tabwidth_ == 0) return;
  cellw = (cellw + tabwidth_ - 1) / tabwidth_ * tabwidth_;
  int n = cellw - textw;
  out.append(static_cast<size_t>((n + tabwidth_ - 1) / tabwidth_), '\t');
}

}  // namespace kiln::client

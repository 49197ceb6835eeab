#pragma once
// Shell-like word expansion for Dockerfile instructions, as BuildKit's
// frontend/dockerfile/shell.Lex does it (it imitates sh, without running anything):
//
// - Quotes: '...' is literal; "..." expands $ and lets the escape character escape `"`, `$` and
//   itself (before anything else the escape stays). Outside quotes the escape character makes
//   the next character literal; an escape at the end of the word is dropped.
// - Variables: $name, ${name}, and ${name:-w} ${name-w} ${name:+w} ${name+w} ${name:?w}
//   ${name?w} ${name#p} ${name##p} ${name%p} ${name%%p} ${name/p/r} ${name//p/r} (patterns in
//   shell/pattern.h). $1.. and the special parameters ($@ $* $# $? $- $$ $! $0) are never set.
//   `$` before anything that cannot start a name is literal.
// - `<<` and the blanks after it stay together in one word (heredoc markers).
//
// The environment is an ordered list of KEY=VALUE strings; the last entry for a key wins, an
// entry without '=' sets the key to "", and keys are case-sensitive (Linux).
//
// Errors are BuildKit's: `failed to process "${x?boom}": x: boom`.
// ShellLex is immutable; its methods are thread-safe.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::dockerfile {

struct ShellLexOptions {
  bool raw_quotes = false;           // keep quote characters in the output
  bool raw_escapes = false;          // keep escape characters in the output
  bool skip_process_quotes = false;  // treat quotes as ordinary characters
  bool skip_unset_env = false;       // leave references to unset variables as written
};

struct ProcessWordResult {
  std::string result;               // the expanded word
  std::vector<std::string> words;   // the same split into fields (see ProcessWords)
  std::set<std::string> matched;    // variables looked up and set
  std::set<std::string> unmatched;  // variables looked up and not set
};

class ShellLex {
 public:
  explicit ShellLex(char escape_token = '\\', ShellLexOptions options = {})
      : escape_(static_cast<unsigned char>(escape_token)), options_(options) {}

  // The expanded word; blanks are kept.
  Result<std::string> ProcessWord(std::string_view word, const std::vector<std::string>& env) const;

  // The expanded word split into fields at unquoted blanks, including blanks that come from
  // variable values (quoted text and escaped characters never split; an empty quoted string
  // makes no field). Mirrors BuildKit exactly, including its quirk that text before a
  // ${name<op>...} expansion in the same field is dropped ("a${x:-b}" -> ["b"]).
  Result<std::vector<std::string>> ProcessWords(std::string_view word,
                                                const std::vector<std::string>& env) const;

  // ProcessWord plus the variables it looked up (for unused build-arg warnings).
  Result<ProcessWordResult> ProcessWordWithMatches(std::string_view word,
                                                   const std::vector<std::string>& env) const;

  char escape_token() const { return static_cast<char>(escape_); }
  const ShellLexOptions& options() const { return options_; }

 private:
  Result<ProcessWordResult> Process(std::string_view word, const std::vector<std::string>& env,
                                    bool capture) const;

  char32_t escape_;
  ShellLexOptions options_;
};

}  // namespace kiln::dockerfile

#include "client/build_options.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "util/csv.h"
#include "util/go_quote.h"

namespace kiln::client {

namespace {

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return std::nullopt;
}

// Checks a file destination as buildctl does before the build starts.
Status CheckFileDest(const std::string& dest) {
  struct stat st {};
  if (stat(dest.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return InvalidArgument(
        fmt::format("invalid destination file: {}: {}", dest, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) return InvalidArgument("destination file is a directory");
  return Status::Ok();
}

Status ResolveDest(ExportEntry& ex, bool stdout_is_tty) {
  bool support_file = false;
  bool support_dir = false;
  if (ex.type == "local") {
    support_dir = true;
  } else if (ex.type == "tar") {
    support_file = true;
  } else if (ex.type == "oci" || ex.type == "docker") {
    auto it = ex.attrs.find("tar");
    bool tar = it == ex.attrs.end() ? true : ParseGoBool(it->second).value_or(true);
    support_file = tar;
    support_dir = !tar;
  }
  auto it = ex.attrs.find("dest");
  std::string dest = it == ex.attrs.end() ? "" : it->second;
  if (support_dir) {
    if (dest.empty()) {
      return InvalidArgument(fmt::format("output directory is required for {} exporter", ex.type));
    }
    ex.output_dir = dest;
  } else if (support_file) {
    if (!dest.empty() && dest != "-") {
      KILN_RETURN_IF_ERROR(CheckFileDest(dest));
      ex.output_file = dest;
    } else {
      if (stdout_is_tty) {
        return InvalidArgument(fmt::format(
            "output file is required for {} exporter. refusing to write to console", ex.type));
      }
      ex.output_file = "-";
    }
  } else if (!dest.empty()) {
    return InvalidArgument(fmt::format("output {} is not supported by {} exporter", dest, ex.type));
  }
  if (!ex.output_dir.empty() || !ex.output_file.empty()) ex.attrs.erase("dest");
  return Status::Ok();
}

}  // namespace

Result<ExportEntry> ParseOutput(std::string_view csv, bool stdout_is_tty) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitCsvRecord(csv));
  ExportEntry ex;
  for (const std::string& field : fields) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) return InvalidArgument(fmt::format("invalid value {}", field));
    std::string key = ToLower(std::string_view(field).substr(0, eq));
    std::string value = field.substr(eq + 1);
    if (key == "type") {
      ex.type = value;
    } else {
      ex.attrs[key] = value;
    }
  }
  if (ex.type.empty()) return InvalidArgument("--output requires type=<type>");
  if (auto it = ex.attrs.find("output"); it != ex.attrs.end()) {
    return InvalidArgument(fmt::format("output={} not supported for --output, you meant dest={}?",
                                       it->second, it->second));
  }
  Status s = ResolveDest(ex, stdout_is_tty);
  if (!s.ok()) return s.Annotate("invalid output option: output");
  return ex;
}

Result<std::vector<ExportEntry>> ParseOutputs(const std::vector<std::string>& values,
                                              bool stdout_is_tty) {
  std::vector<ExportEntry> out;
  for (const std::string& v : values) {
    KILN_ASSIGN_OR_RETURN(ExportEntry ex, ParseOutput(v, stdout_is_tty));
    out.push_back(std::move(ex));
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseAttrMap(const std::vector<std::string>& values) {
  std::map<std::string, std::string> m;
  for (const std::string& v : values) {
    size_t eq = v.find('=');
    if (eq == std::string::npos) return InvalidArgument(fmt::format("invalid value {}", v));
    m[v.substr(0, eq)] = v.substr(eq + 1);
  }
  return m;
}

namespace {

// Each value of `m` must resolve to a directory; errors start with `what`.
Status CheckDirs(const std::map<std::string, std::string>& m, const std::string& what) {
  for (const auto& [name, dir] : m) {
    char resolved[PATH_MAX];
    if (realpath(dir.c_str(), resolved) == nullptr) {
      return InvalidArgument(fmt::format("{}: resolve {}: {}", what, dir, std::strerror(errno)));
    }
    struct stat st {};
    if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return InvalidArgument(fmt::format("{}: stat {}: not a directory", what, resolved));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::map<std::string, std::string>> ParseLocals(const std::vector<std::string>& values) {
  auto m = ParseAttrMap(values);
  if (!m.ok()) return m.status().Annotate("invalid local");
  KILN_RETURN_IF_ERROR(CheckDirs(*m, "invalid local"));
  return m;
}

Result<std::map<std::string, std::string>> ParseOCILayouts(const std::vector<std::string>& values) {
  std::map<std::string, std::string> m;
  for (const std::string& v : values) {
    size_t eq = v.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument(fmt::format(
          "invalid oci-layout: oci-layout option must be 'id=path/to/layout', instead had "
          "invalid {}",
          v));
    }
    m[v.substr(0, eq)] = v.substr(eq + 1);
  }
  KILN_RETURN_IF_ERROR(CheckDirs(m, "invalid oci-layout"));
  return m;
}

Result<std::map<std::string, std::string>> ParseOpts(const std::vector<std::string>& values,
                                                     const GetEnvFn& getenv) {
  std::map<std::string, std::string> m;
  if (const char* v = getenv("SOURCE_DATE_EPOCH"); v != nullptr) {
    m["build-arg:SOURCE_DATE_EPOCH"] = v;
  }
  static constexpr std::string_view kBuildArg = "build-arg:";
  std::vector<std::string> resolved;
  for (const std::string& opt : values) {
    if (opt.starts_with(kBuildArg) && opt.size() > kBuildArg.size() &&
        opt.find('=') == std::string::npos) {
      std::string name = opt.substr(kBuildArg.size());
      const char* v = getenv(name.c_str());
      if (v == nullptr) continue;
      resolved.push_back(opt + "=" + v);
      continue;
    }
    resolved.push_back(opt);
  }
  auto m2 = ParseAttrMap(resolved);
  if (!m2.ok()) return m2.status().Annotate("invalid opt");
  for (auto& [k, v] : *m2) m[k] = v;
  return m;
}

Result<SecretSource> ParseSecret(std::string_view value) {
  auto fields = SplitCsvRecord(value);
  if (!fields.ok()) return fields.status().Annotate("failed to parse csv secret");
  SecretSource src;
  std::string type;
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument(fmt::format("invalid field '{}' must be a key=value pair", field));
    }
    std::string key = ToLower(std::string_view(field).substr(0, eq));
    std::string val = field.substr(eq + 1);
    if (key == "type") {
      if (val != "file" && val != "env") {
        return InvalidArgument(fmt::format("unsupported secret type {}", GoQuote(val)));
      }
      type = val;
    } else if (key == "id") {
      src.id = val;
    } else if (key == "source" || key == "src") {
      src.file_path = val;
    } else if (key == "env") {
      src.env = val;
    } else {
      return InvalidArgument(fmt::format("unexpected key '{}' in '{}'", key, field));
    }
  }
  if (type == "env" && src.env.empty()) {
    src.env = src.file_path;
    src.file_path.clear();
  }
  return src;
}

Result<std::vector<SecretSource>> ParseSecrets(const std::vector<std::string>& values) {
  std::vector<SecretSource> out;
  for (const std::string& v : values) {
    KILN_ASSIGN_OR_RETURN(SecretSource s, ParseSecret(v));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<SSHAgentConfig> ParseSSH(const std::vector<std::string>& values) {
  std::vector<SSHAgentConfig> out;
  for (const std::string& v : values) {
    size_t eq = v.find('=');
    SSHAgentConfig c{v.substr(0, eq), {}};
    if (eq != std::string::npos) {
      std::string_view rest = std::string_view(v).substr(eq + 1);
      while (true) {  // strings.Split: "" gives one empty path
        size_t comma = rest.find(',');
        c.paths.emplace_back(rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

Status ValidateAllow(const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    size_t eq = v.find('=');
    std::string key = v.substr(0, eq);
    if (key == "device") {
      if (eq == std::string::npos) continue;
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitCsvRecord(v.substr(eq + 1)));
      for (size_t i = 1; i < fields.size(); ++i) {
        size_t feq = fields[i].find('=');
        if (feq == std::string::npos) {
          return InvalidArgument(fmt::format("invalid device config \"{}\"", fields[i]));
        }
        if (fields[i].substr(0, feq) != "alias") {
          return InvalidArgument(
              fmt::format("unknown device config key \"{}\"", fields[i].substr(0, feq)));
        }
      }
      continue;
    }
    if (v != "network.host" && v != "security.insecure") {
      return InvalidArgument(fmt::format("unknown entitlement {}", v));
    }
  }
  return Status::Ok();
}

}  // namespace kiln::client

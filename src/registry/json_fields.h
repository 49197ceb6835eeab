#pragma once
// Non-throwing readers of JSON fields for the registry's parsers. Each error is InvalidArgument
// "<where>: <field>: <what is wrong>", so a user sees which image and which field is bad.
// Absent or null fields leave the output unchanged unless `required`. Internal to registry.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kiln::registry::internal {

using Json = nlohmann::json;

// Parses bytes; InvalidArgument "<where>: invalid JSON" when they are not JSON.
Result<Json> ParseJson(std::string_view bytes, std::string_view where);

class Fields {
 public:
  // `obj` must outlive this. `path` is the field path of obj ("" at the top, "layers[2]").
  Fields(const Json& obj, std::string_view where, std::string path)
      : obj_(obj), where_(where), path_(std::move(path)) {}

  // The path of a field below this object, for messages and nested Fields.
  std::string Path(std::string_view key) const;
  Status Error(std::string_view key, std::string_view what) const;
  bool Has(std::string_view key) const;
  // The field's JSON if present and not null.
  const Json* Get(std::string_view key) const;

  Status String(std::string_view key, std::string* out, bool required = false) const;
  Status Int(std::string_view key, int64_t* out, bool required = false) const;
  Status Bool(std::string_view key, bool* out) const;
  Status StringList(std::string_view key, std::vector<std::string>* out) const;
  Status OptStringList(std::string_view key, std::optional<std::vector<std::string>>* out) const;
  Status StringMap(std::string_view key, std::map<std::string, std::string>* out) const;
  // Keys of an object whose values are ignored ({"80/tcp": {}} in ExposedPorts, Volumes).
  Status KeySet(std::string_view key, std::vector<std::string>* out) const;
  // An object field; NotFound-free: returns nullptr when absent.
  Result<const Json*> Object(std::string_view key, bool required = false) const;
  Result<const Json*> Array(std::string_view key, bool required = false) const;

  std::string_view where() const { return where_; }

 private:
  const Json& obj_;
  std::string_view where_;
  std::string path_;
};

}  // namespace kiln::registry::internal

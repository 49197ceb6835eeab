#pragma once
// --progress=rawjson: one JSON object per StatusResponse, shaped like BuildKit's
// client.SolveStatus as Go encodes it (lowercase keys, empty fields left out, times in
// RFC 3339 UTC, log data and warning texts base64):
//   {"vertexes":[{"digest","inputs","name","started","completed","cached","error"}],
//    "statuses":[{"id","vertex","name","total","current","timestamp","started","completed"}],
//    "logs":[{"vertex","stream","data","timestamp"}],
//    "warnings":[{"vertex","level","short","detail","url","sourceInfo","range"}]}
// Stateless.

#include <string>

#include "control/control.pb.h"

namespace kiln::client::progress {

// The JSON text, without a trailing newline.
std::string RawJsonLine(const moby::buildkit::v1::StatusResponse& resp);

}  // namespace kiln::client::progress

#include "client/filesync_service.h"

#include <fmt/format.h>

#include "client/go_format.h"
#include "client/session_packet_stream.h"
#include "fsutil/sender.h"

namespace kiln::client {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string> Values(const HeaderMap& headers, const std::string& key) {
  auto it = headers.find(key);
  return it == headers.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace

std::string QueryUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

HeaderMap DecodeHeaders(const rpc::Metadata& metadata) {
  HeaderMap raw;
  for (const auto& [k, v] : metadata) raw[k].push_back(v);
  HeaderMap out;
  for (const auto& [key, values] : raw) {
    bool encoded = false;
    if (auto it = raw.find(key + "-encoded"); it != raw.end() && !it->second.empty()) {
      const std::string& flag = it->second.front();
      encoded = flag == "1" || flag == "t" || flag == "T" || flag == "true" || flag == "TRUE" ||
                flag == "True";
    }
    std::vector<std::string>& dst = out[key];
    for (const std::string& v : values) dst.push_back(encoded ? QueryUnescape(v) : v);
  }
  return out;
}

Status ServeDiffCopy(const std::map<std::string, std::string>& dirs, const Context& base,
                     const rpc::ServerCall& call, fsutil::PacketStream& packets) {
  HeaderMap headers = DecodeHeaders(call.metadata());
  std::vector<std::string> names = Values(headers, "dir-name");
  std::string name = names.empty() ? "" : names.front();
  auto dir = dirs.find(name);
  if (dir == dirs.end()) {
    return NotFound(fmt::format("no access allowed to dir {}", GoQuote(name)));
  }
  fsutil::WalkOptions opts;
  opts.include_patterns = Values(headers, "include-patterns");
  opts.exclude_patterns = Values(headers, "exclude-patterns");
  opts.follow_paths = Values(headers, "followpaths");
  opts.uid = 0;
  opts.gid = 0;

  // Cancelled with the session or the call.
  Context ctx = call.context();
  auto on_cancel = base.OnCancel([ctx](const Status& cause) { ctx.Cancel(cause); });
  fsutil::SendStats stats;
  return fsutil::Send(ctx, packets, dir->second, opts, &stats);
}

void FileSyncService::Register(rpc::Handlers& handlers) {
  handlers[kFileSyncDiffCopy] = [this](rpc::ServerCall& call) {
    ServerPacketStream packets(call);
    return session::ToWireStatus(ServeDiffCopy(dirs_, ctx_, call, packets));
  };
  if (!batch_) return;
  handlers[kFileSyncDiffCopyBatch] = [this](rpc::ServerCall& call) {
    ServerBatchTransport transport(call);
    Status s;
    {
      // Destroyed before the handler returns: its writer thread must be done with the call.
      fsutil::BatchingPacketStream packets(transport);
      s = ServeDiffCopy(dirs_, ctx_, call, packets);
    }
    return session::ToWireStatus(s);
  };
}

}  // namespace kiln::client

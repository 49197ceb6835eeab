#include "client/filesync_service.h"

#include <fmt/format.h>

#include "client/go_format.h"
#include "client/grpc_packet_stream.h"
#include "session/grpc_status.h"
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

HeaderMap DecodeHeaders(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  HeaderMap raw;
  for (const auto& [k, v] : metadata) {
    raw[std::string(k.data(), k.size())].emplace_back(v.data(), v.size());
  }
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

grpc::Status ServeDiffCopy(const std::map<std::string, std::string>& dirs, const Context& base,
                           grpc::ServerContext* context, fsutil::PacketStream& packets) {
  HeaderMap headers = DecodeHeaders(context->client_metadata());
  std::vector<std::string> names = Values(headers, "dir-name");
  std::string name = names.empty() ? "" : names.front();
  auto dir = dirs.find(name);
  if (dir == dirs.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        fmt::format("no access allowed to dir {}", GoQuote(name)));
  }
  fsutil::WalkOptions opts;
  opts.include_patterns = Values(headers, "include-patterns");
  opts.exclude_patterns = Values(headers, "exclude-patterns");
  opts.follow_paths = Values(headers, "followpaths");
  opts.uid = 0;
  opts.gid = 0;

  Context ctx = base.Child();
  auto on_cancel = ctx.OnCancel([context](const Status&) { context->TryCancel(); });
  fsutil::SendStats stats;
  Status s = fsutil::Send(ctx, packets, dir->second, opts, &stats);
  return session::ToGrpcStatus(s);
}

grpc::Status FileSyncService::DiffCopy(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<::fsutil::types::Packet, ::fsutil::types::Packet>* stream) {
  ServerPacketStream packets(context, stream);
  return ServeDiffCopy(dirs_, ctx_, context, packets);
}

grpc::Status FileSyncBatchService::DiffCopyBatch(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<kiln::filesync::v1::PacketBatch, kiln::filesync::v1::PacketBatch>*
        stream) {
  ServerBatchTransport transport(context, stream);
  // Destroyed before the handler returns: its writer thread must be done with `stream`.
  fsutil::BatchingPacketStream packets(transport);
  return ServeDiffCopy(dirs_, ctx_, context, packets);
}

}  // namespace kiln::client

#include "fsutil/packet_stream.h"

#include "fsutil/message_pipe.h"

namespace kiln::fsutil {

namespace {

class PipeEnd : public PacketStream {
 public:
  // shared_ptr: both ends own the shared state; it lives until the later one is destroyed.
  PipeEnd(std::shared_ptr<internal::MessagePipe<Packet>> state, int out)
      : state_(std::move(state)), out_(out) {}
  ~PipeEnd() override { state_->Cancel(Cancelled("packet stream peer went away")); }

  Status Send(const Packet& packet) override { return state_->Push(out_, packet); }
  Result<bool> Recv(Packet* packet) override { return state_->Pop(1 - out_, packet); }
  Status CloseSend() override {
    state_->Close(out_);
    return Status::Ok();
  }
  void Cancel(const Status& cause) override { state_->Cancel(cause); }

 private:
  std::shared_ptr<internal::MessagePipe<Packet>> state_;
  const int out_;
};

}  // namespace

std::pair<std::unique_ptr<PacketStream>, std::unique_ptr<PacketStream>> NewInMemoryPipe(
    size_t capacity) {
  auto state = std::make_shared<internal::MessagePipe<Packet>>(capacity);
  return {std::make_unique<PipeEnd>(state, 0), std::make_unique<PipeEnd>(state, 1)};
}

}  // namespace kiln::fsutil

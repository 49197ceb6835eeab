#pragma once
// PendingCall<Resp>: one unary call started at once on a completion queue of its own, its answer
// read later with Wait(), so that the round trip overlaps other work of the caller (kilnctl's
// ListWorkers and LLBBridge.Ping at the start of a build). No thread is started: gRPC's pollers
// move the call while the caller blocks in any other call. The call is cancelled with `ctx`;
// destroying an unwaited call cancels it and drains the queue. For one owner thread.

#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/support/async_unary_call.h>

#include <functional>
#include <memory>

#include "util/context.h"

namespace kiln::client {

template <typename Resp>
class PendingCall {
 public:
  using Reader = grpc::ClientAsyncResponseReaderInterface<Resp>;
  // `start` issues the call (a stub's AsyncX); `prepare` sets metadata or a deadline first.
  PendingCall(const Context& ctx,
              const std::function<std::unique_ptr<Reader>(grpc::ClientContext*,
                                                          grpc::CompletionQueue*)>& start,
              const std::function<void(grpc::ClientContext*)>& prepare = nullptr) {
    if (prepare) prepare(&call_);
    hook_ = ctx.OnCancel([this](const Status&) { call_.TryCancel(); });
    rpc_ = start(&call_, &cq_);
    rpc_->Finish(&resp_, &status_, this);
  }
  PendingCall(const PendingCall&) = delete;
  PendingCall& operator=(const PendingCall&) = delete;
  ~PendingCall() {
    if (!done_) {
      call_.TryCancel();
      Wait();
    }
    hook_.Reset();
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Blocks until the call has ended; its status.
  const grpc::Status& Wait() {
    if (!done_) {
      void* tag = nullptr;
      bool ok = false;
      cq_.Next(&tag, &ok);  // the only event: Finish's
      done_ = true;
    }
    return status_;
  }
  // The answer, once Wait() returned OK.
  const Resp& response() const { return resp_; }

 private:
  grpc::ClientContext call_;
  Context::CallbackHandle hook_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<Reader> rpc_;
  Resp resp_;
  grpc::Status status_;
  bool done_ = false;
};

}  // namespace kiln::client

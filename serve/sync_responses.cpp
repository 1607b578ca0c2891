#include "sync_responses.hpp"

#include <grpcpp/support/slice.h>

#include <string>
#include <utility>

#include "flagd/sync/v1/sync.pb.h"

namespace flagd::serve {

namespace {

// Clients choose their selectors: past a bound, responses are made for each call, not kept.
constexpr std::size_t kMaxKeptSelectors = 64;

// The bytes of one response, released by gRPC when its last slice reference goes.
struct HeldBytes {
  std::string bytes;
  std::shared_ptr<std::atomic<std::size_t>> held;

  static void release(void* self) {
    auto* h = static_cast<HeldBytes*>(self);
    h->held->fetch_sub(h->bytes.size(), std::memory_order_relaxed);
    delete h;
  }
};

}  // namespace

SyncResponses::SyncResponses(google::protobuf::Struct sync_context) : sync_context_(std::move(sync_context)) {}

grpc::ByteBuffer SyncResponses::response(const std::shared_ptr<const FlagDocument>& document,
                                         const Selector& selector) {
  if (document != newest_) {
    newest_ = document;
    kept_.clear();
    newest_bytes_ = 0;
  }
  if (const auto it = kept_.find(selector); it != kept_.end()) return it->second;

  ::flagd::sync::v1::SyncFlagsResponse message;
  message.set_flag_configuration(document->payload(selector));
  if (!sync_context_.fields().empty()) *message.mutable_sync_context() = sync_context_;
  auto* h = new HeldBytes{message.SerializeAsString(), held_};
  const std::size_t size = h->bytes.size();
  held_->fetch_add(size, std::memory_order_relaxed);
  const grpc::Slice slice(h->bytes.data(), size, &HeldBytes::release, h);
  grpc::ByteBuffer buffer(&slice, 1);
  if (kept_.size() < kMaxKeptSelectors) {
    kept_.emplace(selector, buffer);
    newest_bytes_ += size;
  }
  return buffer;
}

}  // namespace flagd::serve

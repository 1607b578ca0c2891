#include "sync_responses.hpp"

#include <grpcpp/support/slice.h>

#include <string>
#include <utility>

#include "flagd/sync/v1/sync.pb.h"

namespace flagd::serve {

namespace {

// The bytes of one response, released by gRPC when its last slice reference goes; counted in
// every response's total and in its document's.
struct HeldBytes {
  std::string bytes;
  SyncResponses::Counter all, document;

  static void release(void* self) {
    auto* h = static_cast<HeldBytes*>(self);
    h->all->fetch_sub(h->bytes.size(), std::memory_order_relaxed);
    h->document->fetch_sub(h->bytes.size(), std::memory_order_relaxed);
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
    newest_held_ = std::make_shared<std::atomic<std::size_t>>(0);
  }
  if (const auto it = kept_.find(selector); it != kept_.end()) return it->second;

  ::flagd::sync::v1::SyncFlagsResponse message;
  message.set_flag_configuration(document->payload(selector));
  if (!sync_context_.fields().empty()) *message.mutable_sync_context() = sync_context_;
  auto* h = new HeldBytes{message.SerializeAsString(), all_, newest_held_};
  const std::size_t size = h->bytes.size();
  all_->fetch_add(size, std::memory_order_relaxed);
  newest_held_->fetch_add(size, std::memory_order_relaxed);
  const grpc::Slice slice(h->bytes.data(), size, &HeldBytes::release, h);
  grpc::ByteBuffer buffer(&slice, 1);
  if (kept_.size() < kMaxCachedSelectors) kept_.emplace(selector, buffer);
  return buffer;
}

}  // namespace flagd::serve

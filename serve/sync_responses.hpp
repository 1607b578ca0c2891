// The SyncFlags messages streams send: each (document, selector) is serialized once, and every
// stream sending it holds a reference to the same bytes, so a hundred clients cost one copy of
// the document, not a hundred. The bytes live on as long as gRPC holds them (a write waiting on
// a slow client's flow control included); held_bytes() counts them until their last reference
// goes, which is what lets the server bound what slow clients cost.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>

#include "flag_document.hpp"
#include "google/protobuf/struct.pb.h"

namespace flagd::serve {

class SyncResponses {
 public:
  explicit SyncResponses(google::protobuf::Struct sync_context);

  // The serialized SyncFlagsResponse for `document` as `selector` picks it. Responses of the
  // newest document asked for are kept for the next caller; asking for another drops them. Not
  // thread-safe: the sync server calls it under its lock.
  grpc::ByteBuffer response(const std::shared_ptr<const FlagDocument>& document, const Selector& selector);

  // Bytes of every response made and not yet released, wherever its references are.
  std::size_t held_bytes() const noexcept { return all_->load(std::memory_order_relaxed); }
  // Of those, the bytes of the newest document's responses.
  std::size_t newest_bytes() const noexcept { return newest_held_->load(std::memory_order_relaxed); }

  using Counter = std::shared_ptr<std::atomic<std::size_t>>;

 private:
  const google::protobuf::Struct sync_context_;
  const Counter all_ = std::make_shared<std::atomic<std::size_t>>(0);
  Counter newest_held_ = std::make_shared<std::atomic<std::size_t>>(0);  // a new one per document
  std::shared_ptr<const FlagDocument> newest_;
  std::map<Selector, grpc::ByteBuffer> kept_;
};

}  // namespace flagd::serve

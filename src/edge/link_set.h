#pragma once

// The edge's links as the control thread sees them (which link holds which link ID), and the
// plan that turns them into a newly configured set on SIGHUP. Links are matched by name: a new
// name is added, a missing one removed, and one whose device, bind address or gateway changed
// is removed and added again (it needs a new socket). The sender thread carries the plan out
// (EdgeSession::postLinkChanges); this part only decides, so it is a pure function of the
// state and the new set.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/proto/handshake/sealed_channel.h"  // proto::kMaxLinks
#include "dataplane/proto/result.h"
#include "edge/link_options.h"

namespace braid::edge {

// One step of a link-set change.
struct LinkChange {
  enum class Kind : uint8_t { kRemove, kAdd, kUpdate };  // kUpdate: the priority only
  Kind kind = Kind::kAdd;
  uint8_t id = 0;           // link ID: of the link removed, or given to the link added
  EdgeLinkOptions options;  // the link removed or added
  std::string why;          // for the log: "new", "no longer configured", "bind changed (...)"
};

// The configured links by link ID. Control thread only.
class LinkSet {
 public:
  // The links present at start take the link IDs 0..n-1 (as EdgeSession::create gives them).
  explicit LinkSet(std::span<const EdgeLinkOptions> initial);

  // The changes that make `desired` the link set, removals first; empty if nothing changes.
  // An added link takes a link ID never used in this process if one is left, otherwise the one
  // released longest ago (docs/protocol.md §3.3 allows reuse: the sender continues the ID's
  // per-link sequence). Fails, changing nothing, if `desired` is empty (no link would be
  // left), longer than proto::kMaxLinks, or names a link twice.
  [[nodiscard]] Result<std::vector<LinkChange>> plan(
      std::span<const EdgeLinkOptions> desired) const;

  // Records `changes` (from plan() on this state) as done.
  void apply(std::span<const LinkChange> changes);

  // The link holding `id`, or nullptr.
  const EdgeLinkOptions* find(uint8_t id) const;
  size_t size() const;

 private:
  std::array<std::optional<EdgeLinkOptions>, proto::kMaxLinks> links_;
  // Per link ID: 0 while never used; otherwise when it was last released (a serial number of
  // releases), so that a reused ID is the one the gateway has had longest to forget.
  std::array<uint64_t, proto::kMaxLinks> released_{};
  uint64_t releases_ = 0;
};

}  // namespace braid::edge

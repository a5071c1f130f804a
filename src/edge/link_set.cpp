#include "edge/link_set.h"

#include <algorithm>
#include <set>

namespace braid::edge {
namespace {

// What differs between two configurations of the same link name, or "" if nothing that needs
// a new socket does.
std::string socketChange(const EdgeLinkOptions& before, const EdgeLinkOptions& after) {
  auto text = [](const dp::SocketAddress& a) {
    return a.isUnspecified() ? std::string("not set") : dp::toString(a);
  };
  auto device = [](const std::string& d) { return d.empty() ? std::string("not set") : d; };
  std::string why;
  auto add = [&why](const std::string& what) { why += (why.empty() ? "" : ", ") + what; };
  if (!(before.bindDevice == after.bindDevice)) {
    add("device " + device(before.bindDevice) + " -> " + device(after.bindDevice));
  }
  if (!(before.bindAddress == after.bindAddress)) {
    add("bind " + text(before.bindAddress) + " -> " + text(after.bindAddress));
  }
  if (!(before.gateway == after.gateway)) {
    add("gateway " + text(before.gateway) + " -> " + text(after.gateway));
  }
  return why;
}

}  // namespace

LinkSet::LinkSet(std::span<const EdgeLinkOptions> initial) {
  for (size_t i = 0; i < initial.size() && i < links_.size(); ++i) {
    links_[i] = initial[i];
  }
}

Result<std::vector<LinkChange>> LinkSet::plan(std::span<const EdgeLinkOptions> desired) const {
  if (desired.empty()) {
    return fail(ErrorCode::kInvalidArgument, "the new configuration has no link; keeping the " +
                                                 std::to_string(size()) + " links in use");
  }
  if (desired.size() > proto::kMaxLinks) {
    return fail(ErrorCode::kInvalidArgument,
                "more than " + std::to_string(proto::kMaxLinks) + " links");
  }
  std::set<std::string> names;
  for (const EdgeLinkOptions& link : desired) {
    if (!names.insert(link.name).second) {
      return fail(ErrorCode::kInvalidArgument, "link " + link.name + " is configured twice");
    }
  }

  std::vector<LinkChange> removals, additions, updates;
  std::array<bool, proto::kMaxLinks> taken{};
  // Per link ID, when it was released (0: never used): free IDs are taken in this order.
  std::array<uint64_t, proto::kMaxLinks> released = released_;
  uint64_t releases = releases_;
  for (size_t id = 0; id < links_.size(); ++id) {
    if (!links_[id]) continue;
    const EdgeLinkOptions& current = *links_[id];
    auto wanted = std::find_if(desired.begin(), desired.end(),
                               [&](const EdgeLinkOptions& l) { return l.name == current.name; });
    std::string why = wanted == desired.end() ? std::string("no longer configured")
                                              : socketChange(current, *wanted);
    if (why.empty()) {
      taken[id] = true;
      if (wanted->priority != current.priority) {
        // Only what the scheduler makes of the link changes: no new socket, same link ID.
        updates.push_back(LinkChange{.kind = LinkChange::Kind::kUpdate,
                                     .id = static_cast<uint8_t>(id),
                                     .options = *wanted,
                                     .why = std::string("priority ") +
                                            linkPriorityName(current.priority) + " -> " +
                                            linkPriorityName(wanted->priority)});
      }
      continue;
    }
    removals.push_back(LinkChange{.kind = LinkChange::Kind::kRemove,
                                  .id = static_cast<uint8_t>(id),
                                  .options = current,
                                  .why = why});
    released[id] = ++releases;
  }
  for (const EdgeLinkOptions& link : desired) {
    auto same = [&](const LinkChange& r) { return r.options.name == link.name; };
    auto replaced = std::find_if(removals.begin(), removals.end(), same);
    bool present = std::any_of(links_.begin(), links_.end(),
                               [&](const auto& l) { return l && l->name == link.name; });
    if (present && replaced == removals.end()) continue;  // unchanged
    // The free ID never used (release order 0), else the one released longest ago.
    std::optional<size_t> id;
    for (size_t i = 0; i < taken.size(); ++i) {
      if (!taken[i] && (!id || released[i] < released[*id])) id = i;
    }
    if (!id) return fail(ErrorCode::kInvalidArgument, "no free link ID");  // not reachable
    taken[*id] = true;
    additions.push_back(LinkChange{
        .kind = LinkChange::Kind::kAdd,
        .id = static_cast<uint8_t>(*id),
        .options = link,
        .why = replaced == removals.end() ? std::string("new") : "re-added: " + replaced->why});
  }
  removals.insert(removals.end(), additions.begin(), additions.end());
  removals.insert(removals.end(), updates.begin(), updates.end());
  return removals;
}

void LinkSet::apply(std::span<const LinkChange> changes) {
  for (const LinkChange& change : changes) {
    if (change.id >= links_.size()) continue;
    if (change.kind == LinkChange::Kind::kRemove) {
      links_[change.id].reset();
      released_[change.id] = ++releases_;
    } else {
      links_[change.id] = change.options;
    }
  }
}

const EdgeLinkOptions* LinkSet::find(uint8_t id) const {
  return id < links_.size() && links_[id] ? &*links_[id] : nullptr;
}

size_t LinkSet::size() const {
  return static_cast<size_t>(
      std::count_if(links_.begin(), links_.end(), [](const auto& l) { return l.has_value(); }));
}

}  // namespace braid::edge

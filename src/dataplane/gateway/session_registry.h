#pragma once

#include <tbb/concurrent_hash_map.h>
#include <tbb/spin_rw_mutex.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "dataplane/gateway/session_stats.h"

namespace braid::dp {

// The gateway-wide view of live sessions, shared by the workers (which add and remove their
// sessions at handshake and close), the metrics scraper and (later) the HTTP API and
// admission. Never touched per packet: a worker finds its sessions in its own table.
class SessionRegistry {
 public:
  // Any thread.
  void add(std::shared_ptr<const SessionStats> stats) {
    Lock lock(traversal_, /*write=*/false);
    Map::accessor accessor;
    map_.insert(accessor, stats->id.value);
    accessor->second = std::move(stats);
  }
  // Any thread.
  void remove(proto::SessionId id) {
    Lock lock(traversal_, /*write=*/false);
    map_.erase(id.value);
  }
  // The session's stats, or null. Any thread.
  std::shared_ptr<const SessionStats> find(proto::SessionId id) const {
    Lock lock(traversal_, /*write=*/false);
    Map::const_accessor accessor;
    return map_.find(accessor, id.value) ? accessor->second : nullptr;
  }
  size_t size() const { return map_.size(); }

  // Calls `f` for each live session. Any thread; `f` must not call back into the registry.
  void forEach(const std::function<void(const SessionStats&)>& f) const {
    // concurrent_hash_map allows concurrent insert/erase/find but not traversal alongside
    // them: those take the lock shared (they still run concurrently with each other), a
    // traversal takes it exclusively. Sessions open and close rarely; scrapes are slow path.
    Lock lock(traversal_, /*write=*/true);
    for (auto it = map_.begin(); it != map_.end(); ++it) {
      if (it->second) f(*it->second);
    }
  }

 private:
  using Map = tbb::concurrent_hash_map<uint64_t, std::shared_ptr<const SessionStats>>;
  using Lock = tbb::spin_rw_mutex::scoped_lock;
  Map map_;
  mutable tbb::spin_rw_mutex traversal_;
};

}  // namespace braid::dp

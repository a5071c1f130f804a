#pragma once

// Heap allocation counting for tests that prove a path allocation-free. Linking
// counting_allocator.cpp into a test binary replaces its global operator new/delete; the
// ThreadSanitizer runtime defines them too, so such tests are not built in the TSan flavour.

#include <cstdint>

namespace braid::test {

// Starts counting heap allocations from zero (this thread and every other).
void startCountingAllocations() noexcept;
// Marks the calling thread (a worker under test) for startCountingMarkedThreads().
void markThisThreadCounted() noexcept;
// Starts counting from zero the allocations of marked threads only (a test's own thread
// may allocate meanwhile, e.g. to drive traffic).
void startCountingMarkedThreads() noexcept;
// Stops counting and returns how many allocations happened since the start.
uint64_t stopCountingAllocations() noexcept;

}  // namespace braid::test

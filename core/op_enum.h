// What every functor list (VG_UNARY_OPS, VG_BINARY_OPS, VG_REDUCTIONS) turns into: an enum with
// one entry per functor, its name, and a visitor that turns the runtime enum into the functor type
// (one switch, outside any loop).
#pragma once
#include <cstdint>
#include <string_view>

// For a list `List` of X(Functor, name) entries whose functors live in namespace `ns`, defines
//   enum class Enum : uint8_t { Functor, ... };
//   constexpr std::string_view op_name(Enum op);          // "name"
//   decltype(auto) visit(Enum op, F&& f);                  // f.template operator()<ns::Functor>()
// `First` is the list's first functor (the unreachable fall-through).
#define VG_DEFINE_OP_ENUM(Enum, List, ns, visit, First)   \
    enum class Enum : uint8_t { List(VG_OP_ENUM_ENTRY) }; \
    constexpr std::string_view op_name(Enum op) {         \
        using OpEnum = Enum;                              \
        switch (op) { List(VG_OP_ENUM_NAME_CASE) }        \
        return "?";                                       \
    }                                                     \
    template <typename F>                                 \
    decltype(auto) visit(Enum op, F&& f) {                \
        using OpEnum = Enum;                              \
        namespace op_ns = ns;                             \
        switch (op) { List(VG_OP_ENUM_VISIT_CASE) }       \
        return f.template operator()<ns::First>();        \
    }

#define VG_OP_ENUM_ENTRY(Name, name) Name,
#define VG_OP_ENUM_NAME_CASE(Name, name) \
    case OpEnum::Name:                   \
        return #name;
#define VG_OP_ENUM_VISIT_CASE(Name, name) \
    case OpEnum::Name:                    \
        return f.template operator()<op_ns::Name>();

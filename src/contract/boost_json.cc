// Boost.JSON in header-only mode: its implementation is compiled here, once,
// for the whole project. Other targets get it by linking jinn_contract, and
// must not include <boost/json/src.hpp> themselves (duplicate symbols).
#include <boost/json/src.hpp>

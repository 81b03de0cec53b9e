// Pre-0.9 constructs still parse, each with a warning naming the modern form.
cpp_namespace legacy
java_package org.example.legacy
php_namespace "Legacy"

senum Colour { "red", "green", "blue" }

struct Old {
  1: slist name
  2: Colour colour
  3: i32 implicit_id_follows
  string missing_id
}

service Legacy {
  async void fire(1: string what)
}

// Typed route meta: which pages are public and which are for admins.
import 'vue-router';

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean;
    admin?: boolean;
  }
}

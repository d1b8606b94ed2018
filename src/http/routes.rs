//! `[[http.route]]` as a lookup: the longest match on the path as sent.

use crate::manifest::RouteDecl;

/// The routes of an `[http]` listener.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    routes: Vec<Route>,
}

/// One route: a path (exact, or a prefix with everything under it) to a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The path without the `/...` of a prefix route.
    pub path: String,
    /// Whether it matches the path and everything under it.
    pub prefix: bool,
    /// The component it reaches.
    pub component: String,
    /// The message's topic; `None`: the request path.
    pub topic: Option<String>,
}

impl Route {
    fn matches(&self, path: &str) -> bool {
        if !self.prefix {
            return path == self.path;
        }
        match path.strip_prefix(self.path.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

impl Routes {
    /// The routes of a host file's `[[http.route]]` tables.
    pub fn new(decls: &[RouteDecl]) -> Routes {
        let routes = decls
            .iter()
            .map(|decl| {
                let (path, prefix) = decl.pattern();
                Route {
                    path: path.to_string(),
                    prefix,
                    component: decl.component.clone(),
                    topic: decl.topic.clone(),
                }
            })
            .collect();
        Routes { routes }
    }

    /// The route for `path` (as sent, not percent-decoded, without the query): the
    /// longest match, an exact route before a prefix route of the same path.
    pub fn find(&self, path: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|route| route.matches(path))
            .max_by_key(|route| (route.path.len(), !route.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(paths: &[&str]) -> Routes {
        let decls: Vec<RouteDecl> = paths
            .iter()
            .map(|p| RouteDecl {
                path: p.to_string(),
                component: p.to_string(),
                topic: None,
            })
            .collect();
        Routes::new(&decls)
    }

    fn found(routes: &Routes, path: &str) -> Option<String> {
        routes.find(path).map(|r| r.component.clone())
    }

    #[test]
    fn the_longest_match_wins_and_an_exact_route_beats_a_prefix_of_the_same_path() {
        let r = routes(&["/api/...", "/api/v2/...", "/api", "/hello", "/..."]);
        assert_eq!(found(&r, "/api").as_deref(), Some("/api"));
        assert_eq!(found(&r, "/api/x").as_deref(), Some("/api/..."));
        assert_eq!(found(&r, "/api/v2").as_deref(), Some("/api/v2/..."));
        assert_eq!(found(&r, "/api/v2/a/b").as_deref(), Some("/api/v2/..."));
        assert_eq!(found(&r, "/hello").as_deref(), Some("/hello"));
        assert_eq!(
            found(&r, "/hello/x").as_deref(),
            Some("/..."),
            "an exact route is exact"
        );
        assert_eq!(
            found(&r, "/apix").as_deref(),
            Some("/..."),
            "a prefix ends at a /"
        );
    }

    #[test]
    fn without_a_catch_all_an_unknown_path_has_no_route_and_paths_are_not_decoded() {
        let r = routes(&["/a%20b", "/docs/..."]);
        assert_eq!(found(&r, "/a b"), None);
        assert_eq!(found(&r, "/a%20b").as_deref(), Some("/a%20b"));
        assert_eq!(found(&r, "/doc"), None);
        assert_eq!(found(&r, "/docs").as_deref(), Some("/docs/..."));
    }
}

// The bundler takes CSS imports into the page's stylesheet.
declare module "*.css";
